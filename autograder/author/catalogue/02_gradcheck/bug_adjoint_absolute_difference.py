"""Adjoint check by an absolute difference |p - q|: blind to wrong gradients on small values."""

import numpy as np

EXPECTED_FAILURES = ["test_adjoint_check_rejects_wrong"]


def adjoint_check(f, x, dout, dx):
    return float(abs(np.sum(f(x) * dout) - np.sum(x * dx)))
