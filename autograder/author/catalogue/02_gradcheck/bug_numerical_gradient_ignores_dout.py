"""Differentiates sum(f(x)) instead of sum(f(x) * dout): an all-ones upstream gradient."""

import numpy as np

EXPECTED_FAILURES = ["test_numerical_gradient_any_shape", "test_numerical_gradient_elementwise"]


def numerical_gradient(f, x, dout, eps=1e-5):
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = np.sum(f(x))
        x[i] = old - eps
        minus = np.sum(f(x))
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad
