"""Routes dout to every entry equal to the window's maximum (x == max): a tie gets it twice."""

import numpy as np

EXPECTED_FAILURES = ["test_maxpool_backward_ties"]


def maxpool_backward(dout, x, window, stride):
    KH, KW = window
    N, C, HO, WO = dout.shape
    dx = np.zeros(x.shape)
    for i in range(HO):
        for j in range(WO):
            rows = slice(i * stride, i * stride + KH)
            cols = slice(j * stride, j * stride + KW)
            win = x[:, :, rows, cols]
            mask = win == win.max(axis=(2, 3), keepdims=True)
            dx[:, :, rows, cols] += mask * dout[:, :, i, j, None, None]
    return dx
