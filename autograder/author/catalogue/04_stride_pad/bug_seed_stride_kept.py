"""Find the bug, stride unfixed: col2im puts row i * WO + j back at (i, j), not (i*s, j*s)."""

import numpy as np

EXPECTED_FAILURES = ["test_fix_stride"]


def fixed_col2im(cols, x_shape, KH, KW, stride=1, pad=0):
    H, W = x_shape
    HO = (H + 2 * pad - KH) // stride + 1
    WO = (W + 2 * pad - KW) // stride + 1
    dx_pad = np.zeros((H + 2 * pad, W + 2 * pad))
    for i in range(HO):
        for j in range(WO):
            dx_pad[i:i + KH, j:j + KW] += cols[i * WO + j].reshape(KH, KW)
    return dx_pad[pad:pad + H, pad:pad + W]
