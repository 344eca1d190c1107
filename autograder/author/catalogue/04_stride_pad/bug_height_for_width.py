"""Crops the columns with the height H: right only when the input is square."""

import numpy as np

EXPECTED_FAILURES = ["test_strided_nonsquare"]


def conv2d_single_backward_strided(dout, x, w, stride=1, pad=0):
    KH, KW = w.shape
    H, W = x.shape
    x_pad = np.pad(x, pad)
    dx_pad = np.zeros(x_pad.shape)
    dw = np.zeros(w.shape)
    for i in range(dout.shape[0]):
        for j in range(dout.shape[1]):
            r, c = i * stride, j * stride
            dx_pad[r:r + KH, c:c + KW] += dout[i, j] * w
            dw += dout[i, j] * x_pad[r:r + KH, c:c + KW]
    return dx_pad[pad:pad + H, pad:pad + H], dw, float(np.sum(dout))
