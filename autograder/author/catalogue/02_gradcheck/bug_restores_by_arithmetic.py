"""Perturbs the caller's x in place and undoes the step by arithmetic: round-off changes x."""

import numpy as np

EXPECTED_FAILURES = ["test_numerical_gradient_keeps_x"]


def numerical_gradient(f, x, dout, eps=1e-5):
    x = np.asarray(x, dtype=np.float64)  # no copy when x is already float64
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        x[i] += eps
        plus = np.sum(f(x) * dout)
        x[i] -= 2 * eps
        minus = np.sum(f(x) * dout)
        x[i] += eps
        grad[i] = (plus - minus) / (2 * eps)
    return grad
