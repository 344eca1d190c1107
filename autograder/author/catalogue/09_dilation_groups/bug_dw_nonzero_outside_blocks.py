"""dW of the dense block-diagonal layer: nonzero outside the group blocks, shape (F, C, KH, KW)."""

import numpy as np

EXPECTED_FAILURES = ["test_backward_groups_dw", "test_backward_together"]


def conv2d_backward(dout, x, w, stride=1, pad=0, dilation=1, groups=1):
    N, C, H, W = x.shape
    F, Cg, KH, KW = w.shape
    Fg = F // groups
    w_dense = np.zeros((F, C, KH, KW))                          # the F x C block-diagonal picture
    for g in range(groups):
        w_dense[g * Fg:(g + 1) * Fg, g * Cg:(g + 1) * Cg] = w[g * Fg:(g + 1) * Fg]
    HO, WO = dout.shape[2:]
    s, d = stride, dilation
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros(x_pad.shape)
    dw_dense = np.zeros(w_dense.shape)
    for u in range(KH):
        for v in range(KW):
            rows = slice(u * d, u * d + s * (HO - 1) + 1, s)
            cols = slice(v * d, v * d + s * (WO - 1) + 1, s)
            dw_dense[:, :, u, v] = np.einsum("nfij,ncij->fc", dout, x_pad[:, :, rows, cols])
            dx_pad[:, :, rows, cols] += np.einsum("nfij,fc->ncij", dout, w_dense[:, :, u, v])
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
    return dx, dw_dense, dout.sum(axis=(0, 2, 3))               # dw_dense: every (f, c) pair
