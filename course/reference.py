"""Trusted answers from PyTorch in float64: the truth every graded check compares against.

Shapes follow PyTorch: ``x (N, C, H, W)``, ``w (F, C, KH, KW)``, ``b (F,)``, ``out (N, F, HO, WO)``.
The single-channel helpers take ``x (H, W)`` and ``w (KH, KW)`` and add the missing axes.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)


def _tensor(a: np.ndarray, grad: bool = False) -> torch.Tensor:
    return torch.tensor(np.array(a, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None,
           stride: int = 1, pad: int = 0) -> np.ndarray:
    """Cross-correlation forward pass, ``(N, C, H, W) * (F, C, KH, KW) -> (N, F, HO, WO)``."""
    bias = None if b is None else _tensor(b)
    with torch.no_grad():
        out = F.conv2d(_tensor(x), _tensor(w), bias, stride=stride, padding=pad)
    return out.numpy()


def conv2d_backward(dout: np.ndarray, x: np.ndarray, w: np.ndarray,
                    stride: int = 1, pad: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dx, dw, db)`` of ``L = <conv2d(x, w, b), dout>`` by autograd; ``db`` is ``(F,)``."""
    xt, wt = _tensor(x, grad=True), _tensor(w, grad=True)
    bt = torch.zeros(w.shape[0], dtype=torch.float64, requires_grad=True)
    out = F.conv2d(xt, wt, bt, stride=stride, padding=pad)
    out.backward(_tensor(dout))
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def conv2d_single(x: np.ndarray, w: np.ndarray, b: float = 0.0,
                  stride: int = 1, pad: int = 0) -> np.ndarray:
    """Single-channel forward pass, ``x (H, W)``, ``w (KH, KW)`` -> ``(HO, WO)``."""
    return conv2d(x[None, None], w[None, None], np.array([b]), stride, pad)[0, 0]


def conv2d_single_backward(dout: np.ndarray, x: np.ndarray, w: np.ndarray,
                           stride: int = 1, pad: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
    """Single-channel ``(dx (H, W), dw (KH, KW), db)`` for upstream gradient ``dout (HO, WO)``."""
    dx, dw, db = conv2d_backward(dout[None, None], x[None, None], w[None, None], stride, pad)
    return dx[0, 0], dw[0, 0], float(db[0])

