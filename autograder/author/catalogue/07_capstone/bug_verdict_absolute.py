"""Kinks left out, but an absolute difference |a - n| <= 1e-6: the verdict follows the scale."""

import numpy as np

EXPECTED_FAILURES = ["test_verdict_kinks", "test_verdict_scale"]


def gradient_verdict(analytic, numeric, crossed):
    return bool(np.all(np.abs(analytic - numeric)[~crossed] <= 1e-6))
