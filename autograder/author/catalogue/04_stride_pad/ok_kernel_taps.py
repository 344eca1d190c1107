"""Correct: one loop over the kernel taps (u, v), each a strided slice of the padded input."""

import numpy as np

EXPECTED_FAILURES = []


def conv2d_single_backward_strided(dout, x, w, stride=1, pad=0):
    KH, KW = w.shape
    H, W = x.shape
    HO, WO = dout.shape
    x_pad = np.pad(x, pad)
    dx_pad = np.zeros_like(x_pad)
    dw = np.empty((KH, KW))
    for u in range(KH):
        for v in range(KW):
            rows = slice(u, u + (HO - 1) * stride + 1, stride)   # x_pad[i*stride + u] for all i
            cols = slice(v, v + (WO - 1) * stride + 1, stride)
            dx_pad[rows, cols] += dout * w[u, v]
            dw[u, v] = np.sum(dout * x_pad[rows, cols])
    return dx_pad[pad:pad + H, pad:pad + W], dw, np.sum(dout)
