"""Dilation applied to the input: zeros inserted between the pixels of x_pad, kernel undilated."""

import numpy as np

EXPECTED_FAILURES = ["test_backward_dilation_dw", "test_backward_dilation_dx",
                     "test_backward_together"]


def conv2d_backward(dout, x, w, stride=1, pad=0, dilation=1, groups=1):
    N, C, H, W = x.shape
    F, Cg, KH, KW = w.shape
    G, Fg = groups, F // groups
    HO, WO = dout.shape[2:]
    s, d = stride, dilation
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Hp, Wp = x_pad.shape[2:]
    x_dil = np.zeros((N, C, (Hp - 1) * d + 1, (Wp - 1) * d + 1))   # zeros into the input
    x_dil[:, :, ::d, ::d] = x_pad
    xg = x_dil.reshape(N, G, Cg, *x_dil.shape[2:])
    wg = w.reshape(G, Fg, Cg, KH, KW)
    dg = dout.reshape(N, G, Fg, HO, WO)
    dx_dil = np.zeros(xg.shape)
    dw = np.zeros(wg.shape)
    for u in range(KH):
        for v in range(KW):
            rows = slice(u, u + s * (HO - 1) + 1, s)                 # an undilated kernel
            cols = slice(v, v + s * (WO - 1) + 1, s)
            dw[..., u, v] = np.einsum("ngfij,ngcij->gfc", dg, xg[..., rows, cols])
            dx_dil[..., rows, cols] += np.einsum("ngfij,gfc->ngcij", dg, wg[..., u, v])
    dx_pad = dx_dil.reshape(x_dil.shape)[:, :, ::d, ::d]
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw.reshape(w.shape), dout.sum(axis=(0, 2, 3))
