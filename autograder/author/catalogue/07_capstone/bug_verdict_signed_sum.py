"""The deepnet issue's reading: right when the signed sum of the differences is small."""

import numpy as np

EXPECTED_FAILURES = ["test_verdict_kinks", "test_verdict_scale", "test_verdict_wrong"]


def gradient_verdict(analytic, numeric, crossed):
    return bool(abs(np.sum(analytic - numeric)) <= 1e-6)
