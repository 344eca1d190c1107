"""Right central differences, but crossed is all False: the steps that cross a kink are not seen."""

import numpy as np

EXPECTED_FAILURES = ["test_honest_gradient"]


def honest_numerical_gradient(loss_and_pattern, theta, eps=1e-6):
    grad = np.zeros(theta.shape)
    for i in np.ndindex(theta.shape):
        old = theta[i]
        theta[i] = old + eps
        loss_plus, _ = loss_and_pattern(theta)
        theta[i] = old - eps
        loss_minus, _ = loss_and_pattern(theta)
        theta[i] = old
        grad[i] = (loss_plus - loss_minus) / (2 * eps)
    return grad, np.zeros(theta.shape, dtype=bool)
