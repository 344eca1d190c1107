"""Correct fix of im2col: no size check at all, floored output size, sliding_window_view."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

EXPECTED_FAILURES = []


def fixed_im2col(x, KH, KW, stride=1, pad=0):
    H, W = x.shape
    HO = (H + 2 * pad - KH) // stride + 1
    WO = (W + 2 * pad - KW) // stride + 1
    windows = sliding_window_view(np.pad(x, pad), (KH, KW))[::stride, ::stride][:HO, :WO]
    return windows.reshape(HO * WO, KH * KW).copy()
