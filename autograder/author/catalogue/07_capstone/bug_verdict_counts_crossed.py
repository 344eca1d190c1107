"""Relative error per entry, but over every entry: the chords across kinks count as failures."""

import numpy as np

EXPECTED_FAILURES = ["test_verdict_kinks"]


def gradient_verdict(analytic, numeric, crossed):
    errors = np.abs(analytic - numeric) / np.maximum(1e-8, np.abs(analytic) + np.abs(numeric))
    return bool(errors.max() <= 1e-6)
