"""Correct, with loops: one window per output pixel and group, scatter and gather by hand."""

import numpy as np

EXPECTED_FAILURES = []


def conv2d_backward(dout, x, w, stride=1, pad=0, dilation=1, groups=1):
    N, C, H, W = x.shape
    F, Cg, KH, KW = w.shape
    Fg = F // groups
    HO, WO = dout.shape[2:]
    s, d = stride, dilation
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros(x_pad.shape)
    dw = np.zeros(w.shape)
    for g in range(groups):
        filters, channels = slice(g * Fg, (g + 1) * Fg), slice(g * Cg, (g + 1) * Cg)
        for i in range(HO):
            for j in range(WO):
                rows = slice(i * s, i * s + d * (KH - 1) + 1, d)    # the window's spread taps
                cols = slice(j * s, j * s + d * (KW - 1) + 1, d)
                grad = dout[:, filters, i, j]                        # (N, Fg)
                dw[filters] += np.einsum("nf,ncuv->fcuv", grad, x_pad[:, channels, rows, cols])
                dx_pad[:, channels, rows, cols] += np.einsum("nf,fcuv->ncuv", grad, w[filters])
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, dout.sum(axis=(0, 2, 3))


def conv_transpose2d_forward(x, w, stride=1, pad=0, output_padding=0):
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    s = stride
    full = np.zeros((N, C_out, (H - 1) * s + KH + output_padding,
                     (W - 1) * s + KW + output_padding))
    for i in range(H):
        for j in range(W):
            full[:, :, i * s:i * s + KH, j * s:j * s + KW] += np.einsum("nk,kouv->nouv",
                                                                         x[:, :, i, j], w)
    return full[:, :, pad:full.shape[2] - pad, pad:full.shape[3] - pad]


def conv_transpose2d_backward(dout, x, w, stride=1, pad=0, output_padding=0):
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    s = stride
    dout_pad = np.pad(dout, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx = np.zeros(x.shape)
    dw = np.zeros(w.shape)
    for i in range(H):
        for j in range(W):
            window = dout_pad[:, :, i * s:i * s + KH, j * s:j * s + KW]   # (N, C_out, KH, KW)
            dx[:, :, i, j] = np.einsum("nouv,kouv->nk", window, w)
            dw += np.einsum("nouv,nk->kouv", window, x[:, :, i, j])
    return dx, dw
