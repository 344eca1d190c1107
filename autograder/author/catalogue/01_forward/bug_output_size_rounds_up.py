"""Rounds the division up, inventing a window that runs past the padded edge."""

import math

EXPECTED_FAILURES = ["test_output_size_stride_pad"]


def conv_output_size(n, k, stride=1, pad=0):
    return math.ceil((n + 2 * pad - k) / stride) + 1
