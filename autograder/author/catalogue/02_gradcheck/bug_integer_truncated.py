"""The deepnet helper: perturbs a copy of x in x's own dtype, so uint8 steps are truncated."""

import numpy as np

EXPECTED_FAILURES = ["test_numerical_gradient_integer_input"]


def numerical_gradient(f, x, dout, eps=1e-5):
    x = x.copy()
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = np.sum(f(x) * dout)
        x[i] = old - eps
        minus = np.sum(f(x) * dout)
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad
