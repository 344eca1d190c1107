"""Correct: np.nditer over a float copy, integer input refused with a TypeError."""

import numpy as np

EXPECTED_FAILURES = []


def numerical_gradient(f, x, dout, eps=1e-5):
    if not np.issubdtype(np.asarray(x).dtype, np.floating):
        raise TypeError(f"x has dtype {np.asarray(x).dtype}; pass a float64 array")
    x = np.array(x, dtype=np.float64)
    grad = np.empty_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    for entry in it:
        old = entry.item()
        entry[...] = old + eps
        plus = np.sum(f(x) * dout)
        entry[...] = old - eps
        minus = np.sum(f(x) * dout)
        entry[...] = old
        grad[it.multi_index] = (plus - minus) / (2 * eps)
    return grad


def rel_error(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    denominator = np.maximum(np.abs(a) + np.abs(b), 1e-8)
    return np.divide(np.abs(a - b), denominator).max()
