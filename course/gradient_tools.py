"""Working gradient checkers of notebook 02, for the self-checks of notebooks 03-06.

A student who finished notebook 02 pastes their own ``numerical_gradient``, ``directional_check``
and ``adjoint_check`` into the self-check cells; one who did not uses these. They answer notebook
02's exercises, so a 02 submission must not import them: the grader's sealed re-check runs graded
functions without ``course`` (see docs/grading.md).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable, x: np.ndarray, dout: np.ndarray,
                       eps: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of ``L(x) = sum(f(x) * dout)``, float64, shaped like ``x``."""
    x = np.array(x, dtype=np.float64)
    dx = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = np.sum(f(x) * dout)
        x[i] = old - eps
        minus = np.sum(f(x) * dout)
        x[i] = old
        dx[i] = (plus - minus) / (2 * eps)
    return dx


def _mismatch(p: float, q: float) -> float:
    return float(abs(p - q) / max(1e-12, abs(p) + abs(q)))


def directional_check(f: Callable, x: np.ndarray, dout: np.ndarray, dx: np.ndarray,
                      eps: float = 1e-5, seed: int = 0) -> float:
    """``|p - q| / max(1e-12, |p| + |q|)``: the derivative of L along a Gaussian v, and <dx, v>."""
    x = np.asarray(x, dtype=np.float64)
    v = np.random.default_rng(seed).standard_normal(x.shape)
    p = (np.sum(f(x + eps * v) * dout) - np.sum(f(x - eps * v) * dout)) / (2 * eps)
    return _mismatch(p, np.sum(dx * v))


def adjoint_check(f: Callable, x: np.ndarray, dout: np.ndarray, dx: np.ndarray) -> float:
    """``|p - q| / max(1e-12, |p| + |q|)`` for ``p = <f(x), dout>``, ``q = <x, dx>``, f linear."""
    return _mismatch(np.sum(f(x) * dout), np.sum(x * dx))
