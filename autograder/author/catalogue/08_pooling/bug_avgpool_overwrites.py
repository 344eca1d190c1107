"""Average-pool's backward writes each window's share with = instead of +=."""

import numpy as np

EXPECTED_FAILURES = ["test_avgpool_backward_overlap"]


def avgpool_backward(dout, x_shape, window, stride):
    KH, KW = window
    _, _, HO, WO = dout.shape
    dx = np.zeros(x_shape)
    for i in range(HO):
        for j in range(WO):
            dx[:, :, i * stride:i * stride + KH, j * stride:j * stride + KW] = (
                dout[:, :, i, j, None, None] / (KH * KW))
    return dx
