"""No sum over filters in dX: each filter overwrites the last (= instead of +=)."""

import numpy as np

EXPECTED_FAILURES = ["test_backward_filters", "test_backward_together"]


def conv2d_backward(dout, x, w, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    HO, WO = dout.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros(x_pad.shape)
    dw = np.zeros(w.shape)
    for n in range(N):
        for f in range(F):
            dx_f = np.zeros(x_pad.shape[1:])                 # what filter f sends back
            for i in range(HO):
                for j in range(WO):
                    rows = slice(i * stride, i * stride + KH)
                    cols = slice(j * stride, j * stride + KW)
                    dw[f] += dout[n, f, i, j] * x_pad[n, :, rows, cols]
                    dx_f[:, rows, cols] += dout[n, f, i, j] * w[f]
            dx_pad[n] = dx_f                                 # should be +=
    db = dout.sum(axis=(0, 2, 3))
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, db
