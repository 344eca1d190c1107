"""Scatters into dX with = instead of +=: overlapping windows overwrite each other."""

import numpy as np

EXPECTED_FAILURES = ["test_strided_nondivisible", "test_strided_nonsquare", "test_strided_pad",
                     "test_strided_stride"]


def conv2d_single_backward_strided(dout, x, w, stride=1, pad=0):
    KH, KW = w.shape
    H, W = x.shape
    x_pad = np.pad(x, pad)
    dx_pad = np.zeros(x_pad.shape)
    dw = np.zeros(w.shape)
    for i in range(dout.shape[0]):
        for j in range(dout.shape[1]):
            r, c = i * stride, j * stride
            dx_pad[r:r + KH, c:c + KW] = dout[i, j] * w
            dw += dout[i, j] * x_pad[r:r + KH, c:c + KW]
    return dx_pad[pad:pad + H, pad:pad + W], dw, float(np.sum(dout))
