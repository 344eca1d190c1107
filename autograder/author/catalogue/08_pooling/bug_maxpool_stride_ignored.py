"""Stride ignored in the backward pass: window (i, j) taken at (i, j), not (i*stride, j*stride)."""

import numpy as np

EXPECTED_FAILURES = ["test_maxpool_backward", "test_maxpool_backward_nondivisible",
                     "test_maxpool_backward_overlap", "test_maxpool_backward_ties",
                     "test_network_gradients"]


def maxpool_backward(dout, x, window, stride):
    KH, KW = window
    N, C, HO, WO = dout.shape
    dx = np.zeros(x.shape)
    for i in range(HO):
        for j in range(WO):
            rows, cols = slice(i, i + KH), slice(j, j + KW)          # stride forgotten
            first = x[:, :, rows, cols].reshape(N, C, KH * KW).argmax(axis=2)
            mask = np.zeros((N, C, KH * KW))
            np.put_along_axis(mask, first[:, :, None], 1.0, axis=2)
            dx[:, :, rows, cols] += (mask * dout[:, :, i, j, None]).reshape(N, C, KH, KW)
    return dx
