"""Transposed backward: dx correlates dout with the rotated kernel (the rotation of dX, again)."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

EXPECTED_FAILURES = ["test_transpose_backward_dx"]


def conv_transpose2d_backward(dout, x, w, stride=1, pad=0, output_padding=0):
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    dout_pad = np.pad(dout, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(dout_pad, (KH, KW), axis=(2, 3))[:, :, ::stride, ::stride]
    windows = windows[:, :, :H, :W]                                   # (N, C_out, H, W, KH, KW)
    dx = np.einsum("noijuv,kouv->nkij", windows, w[..., ::-1, ::-1])   # should be w, upright
    dw = np.einsum("noijuv,nkij->kouv", windows, x)
    return dx, dw
