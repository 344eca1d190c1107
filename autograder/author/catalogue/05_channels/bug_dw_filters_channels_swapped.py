"""Filters and channels swapped in dW: shape (C, F, KH, KW) instead of (F, C, KH, KW)."""

import numpy as np

EXPECTED_FAILURES = ["test_backward_channels", "test_backward_filters", "test_backward_together"]


def conv2d_backward(dout, x, w, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    HO, WO = dout.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros(x_pad.shape)
    dw = np.zeros((C, F, KH, KW))
    for i in range(HO):
        for j in range(WO):
            rows = slice(i * stride, i * stride + KH)
            cols = slice(j * stride, j * stride + KW)
            g = dout[:, :, i, j]
            dw += np.einsum("nf,ncuv->cfuv", g, x_pad[:, :, rows, cols])
            dx_pad[:, :, rows, cols] += np.einsum("nf,fcuv->ncuv", g, w)
    db = dout.sum(axis=(0, 2, 3))
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, db
