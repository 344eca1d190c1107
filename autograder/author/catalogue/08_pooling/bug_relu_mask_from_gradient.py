"""The ReLU's backward masked on the wrong side: where the gradient is positive, not where z is."""

import numpy as np

EXPECTED_FAILURES = ["test_network_gradients", "test_overfit"]


def network_loss(x, y, w, b, V, c):
    N = x.shape[0]
    z = conv2d_forward_fast(x, w, b, 1, 1)  # noqa: F821 (the notebook's)
    a = np.maximum(z, 0.0)
    p = maxpool_forward(a, (2, 2), 2)  # noqa: F821 (the notebook's)
    flat = p.reshape(N, -1)
    loss, dscores = softmax_cross_entropy(flat @ V.T + c, y)  # noqa: F821 (the notebook's)
    dV = dscores.T @ flat
    dc = dscores.sum(axis=0)
    da = maxpool_backward((dscores @ V).reshape(p.shape), a, (2, 2), 2)  # noqa: F821
    dz = da * (da > 0)                                 # should be da * (z > 0)
    _, dw, db = conv2d_backward_fast(dz, x, w, 1, 1)  # noqa: F821 (the notebook's)
    return loss, dw, db, dV, dc
