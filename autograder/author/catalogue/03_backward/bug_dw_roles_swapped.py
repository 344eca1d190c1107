"""Computes dW = dY ⋆ X (roles swapped: x slid over the padded dout): dW comes out rotated."""

import numpy as np

EXPECTED_FAILURES = ["test_backward_dw", "test_backward_nonsquare"]


def conv2d_single_backward(dout, x, w):
    H, W = x.shape
    KH, KW = w.shape
    HO, WO = dout.shape
    dout_pad = np.pad(dout, ((KH - 1, KH - 1), (KW - 1, KW - 1)))
    dw = np.zeros((KH, KW))
    for u in range(KH):
        for v in range(KW):
            dw[u, v] = np.sum(dout_pad[u:u + H, v:v + W] * x)
    dx = np.zeros((H, W))
    for i in range(HO):
        for j in range(WO):
            dx[i:i + KH, j:j + KW] += dout[i, j] * w
    return dx, dw, float(np.sum(dout))
