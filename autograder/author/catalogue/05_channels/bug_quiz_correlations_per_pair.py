"""Quiz: counts one correlation per pair of filter and channel, forgetting the batch."""

EXPECTED_FAILURES = ["test_quiz_correlations"]


def dw_correlations(x_shape, w_shape):
    return w_shape[0] * x_shape[1]
