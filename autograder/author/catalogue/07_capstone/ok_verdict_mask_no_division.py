"""Correct: a boolean mask, and |a - n| <= 1e-6 max(1e-8, |a| + |n|) multiplied out, no division."""

import numpy as np

EXPECTED_FAILURES = []


def gradient_verdict(analytic, numeric, crossed):
    keep = ~np.asarray(crossed, dtype=bool)
    a, n = np.asarray(analytic)[keep], np.asarray(numeric)[keep]
    return bool(np.all(np.abs(a - n) <= 1e-6 * np.maximum(1e-8, np.abs(a) + np.abs(n))))
