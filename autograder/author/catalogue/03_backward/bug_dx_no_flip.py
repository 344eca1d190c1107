"""Computes dX as the full cross-correlation of dout with the kernel, forgetting the rotation."""

import numpy as np

EXPECTED_FAILURES = ["test_backward_dx", "test_backward_nonsquare"]


def conv2d_single_backward(dout, x, w):
    KH, KW = w.shape
    H, W = x.shape
    HO, WO = dout.shape
    dout_pad = np.pad(dout, ((KH - 1, KH - 1), (KW - 1, KW - 1)))
    dx = np.zeros((H, W))
    for p in range(H):
        for q in range(W):
            dx[p, q] = np.sum(dout_pad[p:p + KH, q:q + KW] * w)
    dw = np.zeros((KH, KW))
    for u in range(KH):
        for v in range(KW):
            dw[u, v] = np.sum(x[u:u + HO, v:v + WO] * dout)
    return dx, dw, float(np.sum(dout))
