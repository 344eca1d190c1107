"""Correct but slow: the notebook-05 loop over output pixels, vectorised only over N, C and F."""

import numpy as np

EXPECTED_FAILURES = ["test_fast_speed"]


def conv2d_backward_fast(dout, x, w, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    _, _, HO, WO = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    for i in range(HO):
        for j in range(WO):
            r, c = i * stride, j * stride
            window = x_pad[:, :, r:r + KH, c:c + KW]
            g = dout[:, :, i, j]
            dw += np.einsum("nf,nckl->fckl", g, window)
            dx_pad[:, :, r:r + KH, c:c + KW] += np.einsum("nf,fckl->nckl", g, w)
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, dout.sum(axis=(0, 2, 3))
