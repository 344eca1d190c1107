"""Find the bug, nothing fixed: the seeds' im2col and col2im copied as they are (all four bugs)."""

import numpy as np

EXPECTED_FAILURES = ["test_fix_crop", "test_fix_im2col", "test_fix_scatter", "test_fix_stride"]


def fixed_im2col(x, KH, KW, stride=1, pad=0):
    H, W = x.shape
    assert (H + 2 * pad - KH) % stride == 0, "height does not fit"
    assert (W + 2 * pad - KH) % stride == 0, "width does not fit"
    HO = (H + 2 * pad - KH) // stride + 1
    WO = (W + 2 * pad - KW) // stride + 1
    x_pad = np.pad(x, pad)
    cols = np.zeros((HO * WO, KH * KW))
    for i in range(HO):
        for j in range(WO):
            window = x_pad[i * stride:i * stride + KH, j * stride:j * stride + KW]
            cols[i * WO + j] = window.ravel()
    return cols


def fixed_col2im(cols, x_shape, KH, KW, stride=1, pad=0):
    H, W = x_shape
    HO = (H + 2 * pad - KH) // stride + 1
    WO = (W + 2 * pad - KW) // stride + 1
    dx_pad = np.zeros((H + 2 * pad, W + 2 * pad))
    for i in range(HO):
        for j in range(WO):
            dx_pad[i:i + KH, j:j + KW] = cols[i * WO + j].reshape(KH, KW)
    return dx_pad[pad:-pad, pad:-pad]
