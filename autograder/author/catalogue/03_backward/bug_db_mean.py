"""Averages the upstream gradient for db instead of summing it."""

import numpy as np

EXPECTED_FAILURES = ["test_backward_db"]


def conv2d_single_backward(dout, x, w):
    KH, KW = w.shape
    HO, WO = dout.shape
    dx = np.zeros(x.shape)
    dw = np.zeros(w.shape)
    for i in range(HO):
        for j in range(WO):
            dx[i:i + KH, j:j + KW] += dout[i, j] * w
            dw += dout[i, j] * x[i:i + KH, j:j + KW]
    return dx, dw, float(np.mean(dout))
