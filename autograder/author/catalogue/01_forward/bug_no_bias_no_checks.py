"""Forgets the bias and validates nothing: loses the bias and the bad-input points only."""

import numpy as np

EXPECTED_FAILURES = ["test_forward_bias", "test_forward_bad_input"]


def conv2d_single_forward(x, w, b=0.0, stride=1, pad=0):
    x_pad = np.pad(x, pad)
    KH, KW = w.shape
    HO = (x_pad.shape[0] - KH) // stride + 1
    WO = (x_pad.shape[1] - KW) // stride + 1
    y = np.zeros((HO, WO))
    for i in range(HO):
        for j in range(WO):
            y[i, j] = np.sum(x_pad[i * stride:i * stride + KH, j * stride:j * stride + KW] * w)
    return y
