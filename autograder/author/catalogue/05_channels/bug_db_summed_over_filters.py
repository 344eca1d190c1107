"""Sums db over the filters (axes 1, 2, 3) instead of the batch and positions (0, 2, 3)."""

import numpy as np

EXPECTED_FAILURES = ["test_backward_batch", "test_backward_bias", "test_backward_filters",
                     "test_backward_together"]


def conv2d_backward(dout, x, w, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    HO, WO = dout.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros(x_pad.shape)
    dw = np.zeros(w.shape)
    for i in range(HO):
        for j in range(WO):
            rows = slice(i * stride, i * stride + KH)
            cols = slice(j * stride, j * stride + KW)
            g = dout[:, :, i, j]
            dw += np.einsum("nf,ncuv->fcuv", g, x_pad[:, :, rows, cols])
            dx_pad[:, :, rows, cols] += np.einsum("nf,fcuv->ncuv", g, w)
    db = dout.sum(axis=(1, 2, 3))
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, db
