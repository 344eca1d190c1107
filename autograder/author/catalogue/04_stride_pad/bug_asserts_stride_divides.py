"""Refuses sizes the stride does not divide, which are valid (the output size is floored)."""

import numpy as np

EXPECTED_FAILURES = ["test_strided_nondivisible"]


def conv2d_single_backward_strided(dout, x, w, stride=1, pad=0):
    KH, KW = w.shape
    H, W = x.shape
    if (H + 2 * pad - KH) % stride or (W + 2 * pad - KW) % stride:
        raise ValueError("the stride must divide H + 2 pad - KH and W + 2 pad - KW")
    x_pad = np.pad(x, pad)
    dx_pad = np.zeros(x_pad.shape)
    dw = np.zeros(w.shape)
    for i in range(dout.shape[0]):
        for j in range(dout.shape[1]):
            r, c = i * stride, j * stride
            dx_pad[r:r + KH, c:c + KW] += dout[i, j] * w
            dw += dout[i, j] * x_pad[r:r + KH, c:c + KW]
    return dx_pad[pad:pad + H, pad:pad + W], dw, float(np.sum(dout))
