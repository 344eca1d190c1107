"""Directional check of sum(f(x)) against <dx, v>: the upstream gradient dout is forgotten."""

import numpy as np

EXPECTED_FAILURES = ["test_directional_check_accepts_right"]


def directional_check(f, x, dout, dx, eps=1e-5, seed=0):
    x = np.asarray(x, dtype=np.float64)
    v = np.random.default_rng(seed).standard_normal(x.shape)
    numeric = (np.sum(f(x + eps * v)) - np.sum(f(x - eps * v))) / (2 * eps)
    analytic = np.sum(dx * v)
    return float(abs(numeric - analytic) / max(1e-12, abs(numeric) + abs(analytic)))
