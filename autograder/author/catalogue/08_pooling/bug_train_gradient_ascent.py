"""Gradient ascent: each step moves the parameters along the gradient (+=), so the loss rises."""

import numpy as np

EXPECTED_FAILURES = ["test_overfit"]


def train(x, y, w, b, V, c, lr, steps):
    params = [p.copy() for p in (w, b, V, c)]
    losses = []
    for _ in range(steps):
        loss, *grads = network_loss(x, y, *params)  # noqa: F821 (the notebook's)
        losses.append(loss)
        for p, g in zip(params, grads, strict=True):
            p += lr * g                                    # should be -=
    return np.array(losses), *params
