"""Find the bug, crop unfixed: col2im crops with dx_pad[pad:-pad], empty at pad 0."""

import numpy as np

EXPECTED_FAILURES = ["test_fix_crop"]


def fixed_col2im(cols, x_shape, KH, KW, stride=1, pad=0):
    H, W = x_shape
    HO = (H + 2 * pad - KH) // stride + 1
    WO = (W + 2 * pad - KW) // stride + 1
    dx_pad = np.zeros((H + 2 * pad, W + 2 * pad))
    for i in range(HO):
        for j in range(WO):
            r, c = i * stride, j * stride
            dx_pad[r:r + KH, c:c + KW] += cols[i * WO + j].reshape(KH, KW)
    return dx_pad[pad:-pad, pad:-pad]
