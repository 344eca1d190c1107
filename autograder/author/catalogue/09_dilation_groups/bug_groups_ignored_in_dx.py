"""Groups ignored in dX: every filter sends its gradient to every input channel (slice c % Cg)."""

import numpy as np

EXPECTED_FAILURES = ["test_backward_groups_dx", "test_backward_together"]


def conv2d_backward(dout, x, w, stride=1, pad=0, dilation=1, groups=1):
    N, C, H, W = x.shape
    F, Cg, KH, KW = w.shape
    HO, WO = dout.shape[2:]
    s, d = stride, dilation
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros(x_pad.shape)
    dw = np.zeros(w.shape)
    for f in range(F):
        g = f // (F // groups)                                  # the group of filter f
        for u in range(KH):
            for v in range(KW):
                rows = slice(u * d, u * d + s * (HO - 1) + 1, s)
                cols = slice(v * d, v * d + s * (WO - 1) + 1, s)
                for k in range(Cg):
                    dw[f, k, u, v] = np.sum(dout[:, f] * x_pad[:, g * Cg + k, rows, cols])
                for c in range(C):                              # should be c in f's group only
                    dx_pad[:, c, rows, cols] += dout[:, f] * w[f, c % Cg, u, v]
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, dout.sum(axis=(0, 2, 3))
