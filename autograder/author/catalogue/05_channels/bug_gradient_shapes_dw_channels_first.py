"""Check of understanding: gives dW the shape (C, F, KH, KW) instead of the shape of w."""

EXPECTED_FAILURES = ["test_understanding_shapes"]


def gradient_shapes(x_shape, w_shape, stride=1, pad=0, dilation=1):
    N, C, H, W = x_shape
    F, _, KH, KW = w_shape
    HO = (H + 2 * pad - dilation * (KH - 1) - 1) // stride + 1
    WO = (W + 2 * pad - dilation * (KW - 1) - 1) // stride + 1
    return (N, F, HO, WO), (N, C, H, W), (C, F, KH, KW), (F,)
