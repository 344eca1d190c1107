"""Loops over the kernel height KH for both axes of dW: right only for square kernels."""

import numpy as np

EXPECTED_FAILURES = ["test_backward_nonsquare"]


def conv2d_single_backward(dout, x, w):
    KH, KW = w.shape
    HO, WO = dout.shape
    dx = np.zeros(x.shape)
    for i in range(HO):
        for j in range(WO):
            dx[i:i + KH, j:j + KW] += dout[i, j] * w
    dw = np.zeros((KH, KH))
    for u in range(KH):
        for v in range(KH):
            dw[u, v] = np.sum(x[u:u + HO, v:v + WO] * dout)
    return dx, dw, float(np.sum(dout))
