"""A one-sided (forward) difference (L(theta + eps e_i) - L(theta)) / eps: an error of order eps.

Only the pattern at theta + eps e_i is compared, so crossings on the other side are missed too.
"""

import numpy as np

EXPECTED_FAILURES = ["test_honest_gradient"]


def honest_numerical_gradient(loss_and_pattern, theta, eps=1e-6):
    grad = np.zeros(theta.shape)
    crossed = np.zeros(theta.shape, dtype=bool)
    loss, pattern = loss_and_pattern(theta)
    for i in np.ndindex(theta.shape):
        old = theta[i]
        theta[i] = old + eps
        loss_plus, pattern_plus = loss_and_pattern(theta)
        theta[i] = old
        grad[i] = (loss_plus - loss) / eps
        crossed[i] = not np.array_equal(pattern_plus, pattern)
    return grad, crossed
