"""Returns a float from true division: right value at stride 1, wrong type, wrong at stride 2."""

EXPECTED_FAILURES = ["test_output_size_basic", "test_output_size_stride_pad"]


def conv_output_size(n, k, stride=1, pad=0):
    return (n + 2 * pad - k) / stride + 1
