"""Trusted answers for notebook 09 from PyTorch in float64: dilated and grouped convolutions,
transposed convolutions, and the convolution as a matrix.

Shapes follow PyTorch: a convolution takes ``x (N, C, H, W)`` and ``w (F, C // groups, KH, KW)``;
a transposed convolution takes ``x (N, C_in, H, W)`` and ``w (C_in, C_out, KH, KW)``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from course.reference import _tensor


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, stride: int = 1,
           pad: int = 0, dilation: int = 1, groups: int = 1) -> np.ndarray:
    """``F.conv2d`` with dilation and groups: ``(N, C, H, W) -> (N, F, HO, WO)``."""
    bias = None if b is None else _tensor(b)
    with torch.no_grad():
        return F.conv2d(_tensor(x), _tensor(w), bias, stride=stride, padding=pad,
                        dilation=dilation, groups=groups).numpy()


def conv2d_backward(dout: np.ndarray, x: np.ndarray, w: np.ndarray, stride: int = 1,
                    pad: int = 0, dilation: int = 1, groups: int = 1
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dx, dw, db)`` of ``L = <conv2d(x, w, b), dout>`` by autograd."""
    xt, wt = _tensor(x, grad=True), _tensor(w, grad=True)
    bt = torch.zeros(w.shape[0], dtype=torch.float64, requires_grad=True)
    F.conv2d(xt, wt, bt, stride=stride, padding=pad, dilation=dilation,
             groups=groups).backward(_tensor(dout))
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def conv_transpose2d(x: np.ndarray, w: np.ndarray, stride: int = 1, pad: int = 0,
                     output_padding: int | tuple[int, int] = 0) -> np.ndarray:
    """``F.conv_transpose2d``: ``x (N, C_in, H, W)``, ``w (C_in, C_out, KH, KW)``, no bias."""
    with torch.no_grad():
        return F.conv_transpose2d(_tensor(x), _tensor(w), stride=stride, padding=pad,
                                  output_padding=output_padding).numpy()


def conv_transpose2d_backward(dout: np.ndarray, x: np.ndarray, w: np.ndarray, stride: int = 1,
                              pad: int = 0, output_padding: int = 0
                              ) -> tuple[np.ndarray, np.ndarray]:
    """``(dx, dw)`` of ``L = <conv_transpose2d(x, w), dout>`` by autograd."""
    xt, wt = _tensor(x, grad=True), _tensor(w, grad=True)
    F.conv_transpose2d(xt, wt, stride=stride, padding=pad,
                       output_padding=output_padding).backward(_tensor(dout))
    return xt.grad.numpy(), wt.grad.numpy()


def conv_matrix(x_shape: tuple[int, int], w: np.ndarray, stride: int = 1,
                pad: int = 0) -> np.ndarray:
    """The single-channel convolution ``x (H, W) -> y (HO, WO)`` as a matrix ``(HO*WO, H*W)``.

    Column ``k`` is the output for the ``k``-th unit input (row-major order), so that
    ``conv(x).ravel() == A @ x.ravel()``.
    """
    units = np.eye(x_shape[0] * x_shape[1]).reshape(-1, 1, *x_shape)
    return conv2d(units, w[None, None], stride=stride, pad=pad).reshape(len(units), -1).T
