"""Correct, by gathering: each padded pixel sums the dout entries whose windows read it."""

import numpy as np

EXPECTED_FAILURES = []


def conv2d_single_backward_strided(dout, x, w, stride=1, pad=0):
    H, W = x.shape
    KH, KW = w.shape
    HO, WO = dout.shape
    x_pad = np.pad(x, pad)
    dx = np.zeros((H, W))
    for p in range(H):
        for q in range(W):
            for u in range(KH):
                for v in range(KW):
                    di, dj = p + pad - u, q + pad - v       # window corner that put w[u, v] here
                    i, j = di // stride, dj // stride
                    if di % stride == 0 and dj % stride == 0 and 0 <= i < HO and 0 <= j < WO:
                        dx[p, q] += dout[i, j] * w[u, v]
    dw = np.zeros((KH, KW))
    for u in range(KH):
        for v in range(KW):
            for i in range(HO):
                for j in range(WO):
                    dw[u, v] += dout[i, j] * x_pad[i * stride + u, j * stride + v]
    return dx, dw, float(dout.sum())
