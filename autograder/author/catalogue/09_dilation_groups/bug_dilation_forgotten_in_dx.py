"""Dilation forgotten in dX: dW reads the spread taps, but dX scatters into adjacent pixels."""

import numpy as np

EXPECTED_FAILURES = ["test_backward_dilation_dx", "test_backward_together"]


def conv2d_backward(dout, x, w, stride=1, pad=0, dilation=1, groups=1):
    N, C, H, W = x.shape
    F, Cg, KH, KW = w.shape
    G, Fg = groups, F // groups
    HO, WO = dout.shape[2:]
    s, d = stride, dilation
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    xg = x_pad.reshape(N, G, Cg, *x_pad.shape[2:])
    wg = w.reshape(G, Fg, Cg, KH, KW)
    dg = dout.reshape(N, G, Fg, HO, WO)
    dx_pad = np.zeros(xg.shape)
    dw = np.zeros(wg.shape)
    for u in range(KH):
        for v in range(KW):
            rows = slice(u * d, u * d + s * (HO - 1) + 1, s)
            cols = slice(v * d, v * d + s * (WO - 1) + 1, s)
            dw[..., u, v] = np.einsum("ngfij,ngcij->gfc", dg, xg[..., rows, cols])
            back_rows = slice(u, u + s * (HO - 1) + 1, s)             # should be u * d
            back_cols = slice(v, v + s * (WO - 1) + 1, s)
            dx_pad[..., back_rows, back_cols] += np.einsum("ngfij,gfc->ngcij", dg, wg[..., u, v])
    dx = dx_pad.reshape(x_pad.shape)[:, :, pad:pad + H, pad:pad + W]
    return dx, dw.reshape(w.shape), dout.sum(axis=(0, 2, 3))
