"""Find the bug, unfixed: im2col checks the width against KH and refuses x 5x6, w 3x4, stride 2."""

import numpy as np

EXPECTED_FAILURES = ["test_fix_im2col"]


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
