"""Computes a true convolution: the kernel is flipped by 180 degrees before sliding."""

import numpy as np

EXPECTED_FAILURES = ["test_forward_basic", "test_forward_bias", "test_forward_stride",
                     "test_forward_padding", "test_forward_stride_and_padding",
                     "test_forward_nonsquare"]


def conv2d_single_forward(x, w, b=0.0, stride=1, pad=0):
    if x.ndim != 2 or w.ndim != 2 or stride < 1 or pad < 0:
        raise ValueError("bad input")
    x_pad = np.pad(x, pad)
    KH, KW = w.shape
    if KH > x_pad.shape[0] or KW > x_pad.shape[1]:
        raise ValueError("kernel larger than the padded input")
    w_flipped = w[::-1, ::-1]
    HO = (x_pad.shape[0] - KH) // stride + 1
    WO = (x_pad.shape[1] - KW) // stride + 1
    y = np.zeros((HO, WO))
    for i in range(HO):
        for j in range(WO):
            y[i, j] = np.sum(x_pad[i * stride:i * stride + KH, j * stride:j * stride + KW]
                             * w_flipped) + b
    return y
