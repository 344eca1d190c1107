"""Uses input channel 0 for every channel in dW: dw[f, c] += dout * x[n, 0, window]."""

import numpy as np

EXPECTED_FAILURES = ["test_backward_channels", "test_backward_together"]


def conv2d_backward(dout, x, w, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    HO, WO = dout.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros(x_pad.shape)
    dw = np.zeros(w.shape)
    for n in range(N):
        for f in range(F):
            for c in range(C):
                for i in range(HO):
                    for j in range(WO):
                        rows = slice(i * stride, i * stride + KH)
                        cols = slice(j * stride, j * stride + KW)
                        dw[f, c] += dout[n, f, i, j] * x_pad[n, 0, rows, cols]
                        dx_pad[n, c, rows, cols] += dout[n, f, i, j] * w[f, c]
    db = dout.sum(axis=(0, 2, 3))
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, db
