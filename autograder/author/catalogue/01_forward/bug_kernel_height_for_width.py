"""Uses the kernel height KH for both axes: right only for square kernels."""

import numpy as np

EXPECTED_FAILURES = ["test_forward_nonsquare"]


def conv2d_single_forward(x, w, b=0.0, stride=1, pad=0):
    if x.ndim != 2 or w.ndim != 2 or stride < 1 or pad < 0:
        raise ValueError("bad input")
    x_pad = np.pad(x, pad)
    KH, KW = w.shape
    if KH > x_pad.shape[0] or KW > x_pad.shape[1]:
        raise ValueError("kernel larger than the padded input")
    HO = (x_pad.shape[0] - KH) // stride + 1
    WO = (x_pad.shape[1] - KH) // stride + 1
    y = np.zeros((HO, WO))
    for i in range(HO):
        for j in range(WO):
            window = x_pad[i * stride:i * stride + KH, j * stride:j * stride + KH]
            y[i, j] = np.sum(window * w[:, :KH]) + b
    return y
