"""Steps by adding and subtracting eps (+eps, -2 eps, +eps): theta ends some ulps off."""

import numpy as np

EXPECTED_FAILURES = ["test_honest_gradient"]


def honest_numerical_gradient(loss_and_pattern, theta, eps=1e-6):
    grad = np.zeros(theta.shape)
    crossed = np.zeros(theta.shape, dtype=bool)
    _, pattern = loss_and_pattern(theta)
    for i in np.ndindex(theta.shape):
        theta[i] += eps
        loss_plus, pattern_plus = loss_and_pattern(theta)
        theta[i] -= 2 * eps
        loss_minus, pattern_minus = loss_and_pattern(theta)
        theta[i] += eps
        grad[i] = (loss_plus - loss_minus) / (2 * eps)
        crossed[i] = not (np.array_equal(pattern_plus, pattern)
                          and np.array_equal(pattern_minus, pattern))
    return grad, crossed
