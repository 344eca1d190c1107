"""Correct, with plain loops: every window of every example and channel, np.argmax and unravel."""

import numpy as np

EXPECTED_FAILURES = []


def maxpool_forward(x, window, stride):
    KH, KW = window
    N, C, H, W = x.shape
    HO, WO = (H - KH) // stride + 1, (W - KW) // stride + 1
    out = np.empty((N, C, HO, WO))
    for n in range(N):
        for c in range(C):
            for i in range(HO):
                for j in range(WO):
                    out[n, c, i, j] = x[n, c, i * stride:i * stride + KH,
                                        j * stride:j * stride + KW].max()
    return out


def maxpool_backward(dout, x, window, stride):
    KH, KW = window
    N, C, HO, WO = dout.shape
    dx = np.zeros(x.shape)
    for n in range(N):
        for c in range(C):
            for i in range(HO):
                for j in range(WO):
                    win = x[n, c, i * stride:i * stride + KH, j * stride:j * stride + KW]
                    u, v = np.unravel_index(np.argmax(win), win.shape)
                    dx[n, c, i * stride + u, j * stride + v] += dout[n, c, i, j]
    return dx


def avgpool_backward(dout, x_shape, window, stride):
    KH, KW = window
    N, C, HO, WO = dout.shape
    dx = np.zeros(x_shape)
    for n in range(N):
        for c in range(C):
            for i in range(HO):
                for j in range(WO):
                    dx[n, c, i * stride:i * stride + KH, j * stride:j * stride + KW] += (
                        dout[n, c, i, j] / (KH * KW))
    return dx
