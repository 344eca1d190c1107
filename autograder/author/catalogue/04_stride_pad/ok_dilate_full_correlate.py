"""Correct: dilate dY, full cross-correlation with rot180(w), zero rows for the leftover, crop."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

EXPECTED_FAILURES = []


def conv2d_single_backward_strided(dout, x, w, stride=1, pad=0):
    KH, KW = w.shape
    H, W = x.shape
    HO, WO = dout.shape
    dilated = np.zeros(((HO - 1) * stride + 1, (WO - 1) * stride + 1))
    dilated[::stride, ::stride] = dout
    r_h = (H + 2 * pad - KH) % stride                 # rows no window reads
    r_w = (W + 2 * pad - KW) % stride
    full = np.pad(dilated, ((KH - 1, KH - 1 + r_h), (KW - 1, KW - 1 + r_w)))
    dx_pad = np.einsum("pquv,uv->pq", sliding_window_view(full, w.shape), w[::-1, ::-1])
    x_read = np.pad(x, pad)[:dilated.shape[0] + KH - 1, :dilated.shape[1] + KW - 1]
    dw = np.einsum("uvij,ij->uv", sliding_window_view(x_read, dilated.shape), dilated)
    return dx_pad[pad:pad + H, pad:pad + W], dw, float(dout.sum())
