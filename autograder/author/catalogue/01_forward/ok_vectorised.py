"""Correct, vectorised: strided windows with sliding_window_view, then one einsum."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

EXPECTED_FAILURES = []


def conv2d_single_forward(x, w, b=0.0, stride=1, pad=0):
    if np.ndim(x) != 2 or np.ndim(w) != 2:
        raise ValueError("x and w must be 2-D")
    if stride < 1 or pad < 0:
        raise ValueError("stride must be >= 1 and pad >= 0")
    x_pad = np.pad(np.asarray(x, dtype=np.float64), pad)
    if w.shape[0] > x_pad.shape[0] or w.shape[1] > x_pad.shape[1]:
        raise ValueError("the kernel is larger than the padded input")
    windows = sliding_window_view(x_pad, w.shape)[::stride, ::stride]
    return np.einsum("ijuv,uv->ij", windows, w) + b
