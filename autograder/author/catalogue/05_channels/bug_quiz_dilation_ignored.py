"""Quiz: notebook 01's output size with the kernel's own size, as if the dilation were 1."""

EXPECTED_FAILURES = ["test_understanding_shapes"]


def gradient_shapes(x_shape, w_shape, stride=1, pad=0, dilation=1):
    N, C, H, W = x_shape
    F, _, KH, KW = w_shape
    HO = (H + 2 * pad - KH) // stride + 1
    WO = (W + 2 * pad - KW) // stride + 1
    return (N, F, HO, WO), (N, C, H, W), (F, C, KH, KW), (F,)
