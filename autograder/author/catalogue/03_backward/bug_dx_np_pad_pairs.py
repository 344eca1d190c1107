"""Pads dout with np.pad(dout, (KH-1, KW-1)): before/after pairs, not rows/columns (KH != KW)."""

import numpy as np

EXPECTED_FAILURES = ["test_backward_nonsquare"]


def conv2d_single_backward(dout, x, w):
    KH, KW = w.shape
    HO, WO = dout.shape
    dout_pad = np.pad(dout, (KH - 1, KW - 1))
    w_rot = w[::-1, ::-1]
    dx = np.zeros((dout_pad.shape[0] - KH + 1, dout_pad.shape[1] - KW + 1))
    for p in range(dx.shape[0]):
        for q in range(dx.shape[1]):
            dx[p, q] = np.sum(dout_pad[p:p + KH, q:q + KW] * w_rot)
    dw = np.zeros((KH, KW))
    for u in range(KH):
        for v in range(KW):
            dw[u, v] = np.sum(x[u:u + HO, v:v + WO] * dout)
    return dx, dw, float(np.sum(dout))
