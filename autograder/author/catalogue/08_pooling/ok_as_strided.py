"""Correct, with as_strided views: the windows by hand-made strides, the gradient tap by tap."""

import numpy as np
from numpy.lib.stride_tricks import as_strided

EXPECTED_FAILURES = []


def maxpool_forward(x, window, stride):
    KH, KW = window
    x = np.ascontiguousarray(x)
    N, C, H, W = x.shape
    HO, WO = (H - KH) // stride + 1, (W - KW) // stride + 1
    sn, sc, sh, sw = x.strides
    windows = as_strided(x, (N, C, HO, WO, KH, KW),
                         (sn, sc, sh * stride, sw * stride, sh, sw), writeable=False)
    return windows.max(axis=(4, 5))


def maxpool_backward(dout, x, window, stride):
    KH, KW = window
    x = np.ascontiguousarray(x)
    N, C, HO, WO = dout.shape
    sn, sc, sh, sw = x.strides
    windows = as_strided(x, (N, C, HO, WO, KH, KW),
                         (sn, sc, sh * stride, sw * stride, sh, sw), writeable=False)
    first = windows.reshape(N, C, HO, WO, KH * KW).argmax(axis=-1)
    dx = np.zeros(x.shape)
    for k in range(KH * KW):                    # tap k of every window at once
        u, v = divmod(k, KW)
        dx[:, :, u:u + stride * HO:stride, v:v + stride * WO:stride] += dout * (first == k)
    return dx
