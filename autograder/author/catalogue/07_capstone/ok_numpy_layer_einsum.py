"""Correct: the NumPy layer with sliding_window_view and einsum; dX as a transposed convolution."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

EXPECTED_FAILURES = []


def conv2d_forward_fast(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    HO, WO = (H + 2 * pad - KH) // stride + 1, (W + 2 * pad - KW) // stride + 1
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(x_pad, (KH, KW), axis=(2, 3))[:, :, ::stride, ::stride]
    y = np.einsum("ncijuv,fcuv->nfij", windows[:, :, :HO, :WO], w, optimize=True)
    return y + b[None, :, None, None]


def conv2d_backward_fast(dout, x, w, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    _, _, HO, WO = dout.shape
    s = stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(x_pad, (KH, KW), axis=(2, 3))[:, :, ::s, ::s][:, :, :HO, :WO]
    dw = np.einsum("nfij,ncijuv->fcuv", dout, windows, optimize=True)
    Hp, Wp = x_pad.shape[2:]
    full = np.zeros((N, F, Hp + KH - 1, Wp + KW - 1))
    full[:, :, KH - 1:KH - 1 + s * HO:s, KW - 1:KW - 1 + s * WO:s] = dout
    dx_pad = np.einsum("nfpquv,fcuv->ncpq", sliding_window_view(full, (KH, KW), axis=(2, 3)),
                       w[:, :, ::-1, ::-1], optimize=True)
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, dout.sum(axis=(0, 2, 3))
