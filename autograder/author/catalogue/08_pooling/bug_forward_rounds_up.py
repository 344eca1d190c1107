"""Rounds the output size up: a last, partial window past the edge becomes an extra output."""

import numpy as np

EXPECTED_FAILURES = ["test_maxpool_forward"]


def maxpool_forward(x, window, stride):
    KH, KW = window
    N, C, H, W = x.shape
    HO, WO = -(-(H - KH) // stride) + 1, -(-(W - KW) // stride) + 1    # ceil instead of floor
    out = np.empty((N, C, HO, WO))
    for i in range(HO):
        for j in range(WO):
            win = x[:, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
            out[:, :, i, j] = win.max(axis=(2, 3))
    return out
