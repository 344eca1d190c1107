"""Computes dX as a valid (not full) correlation and pads it back: the border gets no gradient."""

import numpy as np

EXPECTED_FAILURES = ["test_backward_dx", "test_backward_nonsquare"]


def conv2d_single_backward(dout, x, w):
    KH, KW = w.shape
    H, W = x.shape
    HO, WO = dout.shape
    w_rot = w[::-1, ::-1]
    valid = np.zeros((max(HO - KH + 1, 0), max(WO - KW + 1, 0)))
    for p in range(valid.shape[0]):
        for q in range(valid.shape[1]):
            valid[p, q] = np.sum(dout[p:p + KH, q:q + KW] * w_rot)
    dx = np.zeros((H, W))
    dx[KH - 1:KH - 1 + valid.shape[0], KW - 1:KW - 1 + valid.shape[1]] = valid
    dw = np.zeros((KH, KW))
    for u in range(KH):
        for v in range(KW):
            dw[u, v] = np.sum(x[u:u + HO, v:v + WO] * dout)
    return dx, dw, float(np.sum(dout))
