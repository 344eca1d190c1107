"""A one-sided (forward) difference (L(x + eps e_i) - L(x)) / eps: error proportional to eps."""

import numpy as np

EXPECTED_FAILURES = ["test_numerical_gradient_any_shape", "test_numerical_gradient_elementwise"]


def numerical_gradient(f, x, dout, eps=1e-5):
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    base = np.sum(f(x) * dout)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        grad[i] = (np.sum(f(x) * dout) - base) / eps
        x[i] = old
    return grad
