"""Correct: flat indices into a float64 copy of theta, so the caller's theta is never touched."""

import numpy as np

EXPECTED_FAILURES = []


def honest_numerical_gradient(loss_and_pattern, theta, eps=1e-6):
    work = np.array(theta, dtype=np.float64)
    flat = work.reshape(-1)
    grad = np.empty(flat.size)
    crossed = np.empty(flat.size, dtype=bool)
    _, pattern = loss_and_pattern(work)
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + eps
        loss_plus, pattern_plus = loss_and_pattern(work)
        flat[k] = old - eps
        loss_minus, pattern_minus = loss_and_pattern(work)
        flat[k] = old
        grad[k] = (loss_plus - loss_minus) / (2 * eps)
        crossed[k] = not (np.array_equal(pattern, pattern_plus)
                          and np.array_equal(pattern, pattern_minus))
    return grad.reshape(work.shape), crossed.reshape(work.shape)
