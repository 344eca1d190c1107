"""Forward adds the bias inside the loop over input channels: C * b[f] instead of b[f]."""

import numpy as np

EXPECTED_FAILURES = ["test_forward_bias"]


def conv2d_forward(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    HO = (H + 2 * pad - KH) // stride + 1
    WO = (W + 2 * pad - KW) // stride + 1
    out = np.zeros((N, F, HO, WO))
    for c in range(C):
        for i in range(HO):
            for j in range(WO):
                window = x_pad[:, c, i * stride:i * stride + KH, j * stride:j * stride + KW]
                out[:, :, i, j] += np.einsum("nuv,fuv->nf", window, w[:, c]) + b
    return out
