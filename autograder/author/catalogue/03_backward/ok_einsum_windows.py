"""Correct, vectorised: sliding_window_view and einsum for dW = X ⋆ dY and the full dX."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

EXPECTED_FAILURES = []


def conv2d_single_backward(dout, x, w):
    KH, KW = w.shape
    dw = np.einsum("uvij,ij->uv", sliding_window_view(x, dout.shape), dout)
    dout_pad = np.pad(dout, ((KH - 1, KH - 1), (KW - 1, KW - 1)))
    dx = np.einsum("pquv,uv->pq", sliding_window_view(dout_pad, w.shape), w[::-1, ::-1])
    return dx, dw, float(dout.sum())
