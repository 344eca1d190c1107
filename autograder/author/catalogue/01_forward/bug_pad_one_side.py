"""Pads only the top and left edges, so the output is too small and shifted."""

import numpy as np

EXPECTED_FAILURES = ["test_forward_padding", "test_forward_stride_and_padding"]


def conv2d_single_forward(x, w, b=0.0, stride=1, pad=0):
    if x.ndim != 2 or w.ndim != 2 or stride < 1 or pad < 0:
        raise ValueError("bad input")
    x_pad = np.pad(x, ((pad, 0), (pad, 0)))
    KH, KW = w.shape
    if KH > x_pad.shape[0] + pad or KW > x_pad.shape[1] + pad:
        raise ValueError("kernel larger than the padded input")
    HO = (x_pad.shape[0] - KH) // stride + 1
    WO = (x_pad.shape[1] - KW) // stride + 1
    y = np.zeros((max(HO, 0), max(WO, 0)))
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            y[i, j] = np.sum(x_pad[i * stride:i * stride + KH, j * stride:j * stride + KW] * w) + b
    return y
