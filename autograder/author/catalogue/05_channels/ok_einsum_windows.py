"""Correct, vectorised: sliding_window_view and einsum; dX from the dilated, padded dY."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

EXPECTED_FAILURES = []


def conv2d_forward(x, w, b, stride=1, pad=0):
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(x_pad, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("ncijuv,fcuv->nfij", windows, w, optimize=True) + b[None, :, None, None]


def conv2d_backward(dout, x, w, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    HO, WO = dout.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(x_pad, (KH, KW), axis=(2, 3))[:, :, ::stride, ::stride]
    windows = windows[:, :, :HO, :WO]
    dw = np.einsum("ncijuv,nfij->fcuv", windows, dout, optimize=True)
    # dX: put dY back on the stride grid, pad for a full correlation (and for the rows and columns
    # no window reached), correlate with the rotated kernels, then crop the padding of x.
    dilated = np.zeros((N, F, (HO - 1) * stride + 1, (WO - 1) * stride + 1))
    dilated[:, :, ::stride, ::stride] = dout
    extra_h = H + 2 * pad - ((HO - 1) * stride + KH)
    extra_w = W + 2 * pad - ((WO - 1) * stride + KW)
    full = np.pad(dilated, ((0, 0), (0, 0), (KH - 1, KH - 1 + extra_h), (KW - 1, KW - 1 + extra_w)))
    dwindows = sliding_window_view(full, (KH, KW), axis=(2, 3))
    dx_pad = np.einsum("nfpquv,fcuv->ncpq", dwindows, w[:, :, ::-1, ::-1], optimize=True)
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, dout.sum(axis=(0, 2, 3))
