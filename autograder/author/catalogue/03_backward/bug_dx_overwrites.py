"""Scatters into dX with = instead of +=: overlapping windows overwrite each other."""

import numpy as np

EXPECTED_FAILURES = ["test_backward_dx", "test_backward_nonsquare"]


def conv2d_single_backward(dout, x, w):
    KH, KW = w.shape
    HO, WO = dout.shape
    dx = np.zeros(x.shape)
    dw = np.zeros(w.shape)
    for i in range(HO):
        for j in range(WO):
            dx[i:i + KH, j:j + KW] = dout[i, j] * w
            dw += dout[i, j] * x[i:i + KH, j:j + KW]
    return dx, dw, float(np.sum(dout))
