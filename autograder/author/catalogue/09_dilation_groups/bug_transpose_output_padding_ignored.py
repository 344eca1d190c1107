"""Transposed forward without output_padding: the output is output_padding rows too short."""

import numpy as np

EXPECTED_FAILURES = ["test_transpose_forward_output_padding"]


def conv_transpose2d_forward(x, w, stride=1, pad=0, output_padding=0):
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    s = stride
    full = np.zeros((N, C_out, (H - 1) * s + KH, (W - 1) * s + KW))
    for i in range(H):
        for j in range(W):
            full[:, :, i * s:i * s + KH, j * s:j * s + KW] += np.einsum("nk,kouv->nouv",
                                                                         x[:, :, i, j], w)
    return full[:, :, pad:full.shape[2] - pad, pad:full.shape[3] - pad]
