"""dscores = softmax - onehot without the 1/N of the mean: every gradient N times too large."""

import numpy as np

EXPECTED_FAILURES = ["test_network_gradients", "test_overfit"]


def softmax_cross_entropy(scores, y):
    N = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dscores = np.exp(log_probs)
    dscores[np.arange(N), y] -= 1.0
    return -log_probs[np.arange(N), y].mean(), dscores            # should be dscores / N
