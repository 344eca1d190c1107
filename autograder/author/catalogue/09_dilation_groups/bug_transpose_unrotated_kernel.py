"""Transposed forward as a gather (full correlation of the zero-dilated x) with w unrotated."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

EXPECTED_FAILURES = ["test_transpose_forward_basic", "test_transpose_forward_stride_pad",
                     "test_transpose_forward_output_padding"]


def conv_transpose2d_forward(x, w, stride=1, pad=0, output_padding=0):
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    s, op = stride, output_padding
    x_dil = np.zeros((N, C_in, (H - 1) * s + 1 + op, (W - 1) * s + 1 + op))
    x_dil[:, :, :(H - 1) * s + 1:s, :(W - 1) * s + 1:s] = x
    full = np.pad(x_dil, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1)))
    windows = sliding_window_view(full, (KH, KW), axis=(2, 3))
    out = np.einsum("nkpquv,kouv->nopq", windows, w)                 # should be w[..., ::-1, ::-1]
    HO, WO = out.shape[2] - 2 * pad, out.shape[3] - 2 * pad
    return out[:, :, pad:pad + HO, pad:pad + WO]
