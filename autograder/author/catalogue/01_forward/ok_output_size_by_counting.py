"""Correct: counts the window start positions 0, stride, 2 stride, ... that fit."""

EXPECTED_FAILURES = []


def conv_output_size(n, k, stride=1, pad=0):
    return len(range(0, n + 2 * pad - k + 1, stride))
