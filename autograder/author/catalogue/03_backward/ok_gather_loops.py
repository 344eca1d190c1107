"""Correct, by gathering: each dx pixel sums the dout entries whose windows read it."""

import numpy as np

EXPECTED_FAILURES = []


def conv2d_single_backward(dout, x, w):
    H, W = x.shape
    KH, KW = w.shape
    HO, WO = dout.shape
    dx = np.zeros((H, W))
    for p in range(H):
        for q in range(W):
            for u in range(KH):
                for v in range(KW):
                    i, j = p - u, q - v          # the window starting at (i, j) read x[p, q]
                    if 0 <= i < HO and 0 <= j < WO:
                        dx[p, q] += dout[i, j] * w[u, v]
    dw = np.zeros((KH, KW))
    for u in range(KH):
        for v in range(KW):
            dw[u, v] = np.sum(x[u:u + HO, v:v + WO] * dout)
    return dx, dw, np.sum(dout)
