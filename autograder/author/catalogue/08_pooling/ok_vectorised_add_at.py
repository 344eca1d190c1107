"""Correct, vectorised: sliding_window_view for the windows, one argmax, np.add.at to scatter."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

EXPECTED_FAILURES = []


def maxpool_backward(dout, x, window, stride):
    KH, KW = window
    N, C, HO, WO = dout.shape
    windows = sliding_window_view(x, (KH, KW), axis=(2, 3))[:, :, ::stride, ::stride]
    first = windows[:, :, :HO, :WO].reshape(N, C, HO, WO, KH * KW).argmax(axis=-1)
    u, v = np.divmod(first, KW)                                   # (N, C, HO, WO) each
    n, c, i, j = np.ogrid[:N, :C, :HO, :WO]
    dx = np.zeros(x.shape)
    np.add.at(dx, (n, c, i * stride + u, j * stride + v), dout)   # repeated indices add up
    return dx


def avgpool_backward(dout, x_shape, window, stride):
    KH, KW = window
    N, C, HO, WO = dout.shape
    n, c, i, j, u, v = np.ogrid[:N, :C, :HO, :WO, :KH, :KW]
    share = np.broadcast_to((dout / (KH * KW))[..., None, None], (N, C, HO, WO, KH, KW))
    dx = np.zeros(x_shape)
    np.add.at(dx, (n, c, i * stride + u, j * stride + v), share)
    return dx
