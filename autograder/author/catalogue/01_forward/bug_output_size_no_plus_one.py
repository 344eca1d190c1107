"""Forgets the +1 in the output-size formula (counts gaps between window starts, not windows)."""

EXPECTED_FAILURES = ["test_output_size_basic", "test_output_size_stride_pad"]


def conv_output_size(n, k, stride=1, pad=0):
    return (n + 2 * pad - k) // stride
