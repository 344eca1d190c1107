"""Correct fix of col2im in CS231n's style: index arrays and np.add.at, then the right crop."""

import numpy as np

EXPECTED_FAILURES = []


def fixed_col2im(cols, x_shape, KH, KW, stride=1, pad=0):
    H, W = x_shape
    HO = (H + 2 * pad - KH) // stride + 1
    WO = (W + 2 * pad - KW) // stride + 1
    rows = (stride * np.repeat(np.arange(HO), WO)[:, None]
            + np.repeat(np.arange(KH), KW)[None, :])             # (HO * WO, KH * KW)
    columns = (stride * np.tile(np.arange(WO), HO)[:, None]
               + np.tile(np.arange(KW), KH)[None, :])
    dx_pad = np.zeros((H + 2 * pad, W + 2 * pad))
    np.add.at(dx_pad, (rows, columns), cols)
    return dx_pad[pad:H + pad, pad:W + pad]
