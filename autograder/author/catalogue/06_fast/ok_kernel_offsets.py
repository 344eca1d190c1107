"""Correct: no im2col matrix; one loop over the KH*KW kernel offsets, a tensordot per offset."""

import numpy as np

EXPECTED_FAILURES = []


def conv2d_backward_fast(dout, x, w, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    _, _, HO, WO = dout.shape
    s = stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros_like(x_pad)
    dw = np.empty_like(w)
    for u in range(KH):
        for v in range(KW):
            rows, cols = slice(u, u + s * HO, s), slice(v, v + s * WO, s)
            dw[:, :, u, v] = np.tensordot(dout, x_pad[:, :, rows, cols],
                                          axes=([0, 2, 3], [0, 2, 3]))
            dx_pad[:, :, rows, cols] += np.einsum("nfij,fc->ncij", dout, w[:, :, u, v])
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, dout.sum(axis=(0, 2, 3))
