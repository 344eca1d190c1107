"""Relative error measured against the first argument only: |a - b| / |a|, not symmetric."""

import numpy as np

EXPECTED_FAILURES = ["test_rel_error"]


def rel_error(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a))))
