"""Writes dW as a true convolution X * dY: dout rotated by 180 degrees, then slid over x."""

import numpy as np

EXPECTED_FAILURES = ["test_backward_dw", "test_backward_nonsquare"]


def conv2d_single_backward(dout, x, w):
    KH, KW = w.shape
    HO, WO = dout.shape
    dout_flipped = dout[::-1, ::-1]
    dx = np.zeros(x.shape)
    dw = np.zeros(w.shape)
    for u in range(KH):
        for v in range(KW):
            dw[u, v] = np.sum(x[u:u + HO, v:v + WO] * dout_flipped)
    for i in range(HO):
        for j in range(WO):
            dx[i:i + KH, j:j + KW] += dout[i, j] * w
    return dx, dw, float(np.sum(dout))
