"""The gradient-checking article's check: perturbs every entry by the same eps (v = all ones)."""

import numpy as np

EXPECTED_FAILURES = ["test_directional_check_rejects_wrong"]


def directional_check(f, x, dout, dx, eps=1e-5, seed=0):
    x = np.asarray(x, dtype=np.float64)
    v = np.ones_like(x)
    numeric = (np.sum(f(x + eps * v) * dout) - np.sum(f(x - eps * v) * dout)) / (2 * eps)
    analytic = np.sum(dx * v)
    return float(abs(numeric - analytic) / max(1e-12, abs(numeric) + abs(analytic)))
