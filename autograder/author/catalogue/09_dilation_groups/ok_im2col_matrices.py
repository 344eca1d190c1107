"""Correct, im2col: one matrix product per group; the transposed forward as col2im of W^T x,
the conv-as-matrix picture made literal."""

import numpy as np

EXPECTED_FAILURES = []


def conv2d_backward(dout, x, w, stride=1, pad=0, dilation=1, groups=1):
    N, C, H, W = x.shape
    F, Cg, KH, KW = w.shape
    Fg = F // groups
    HO, WO = dout.shape[2:]
    s, d = stride, dilation
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    taps = [(u, v, slice(u * d, u * d + s * (HO - 1) + 1, s),
             slice(v * d, v * d + s * (WO - 1) + 1, s)) for u in range(KH) for v in range(KW)]
    cols = np.empty((N, C, KH, KW, HO, WO))                 # im2col: the taps of every window
    for u, v, rows, columns in taps:
        cols[:, :, u, v] = x_pad[:, :, rows, columns]
    dcols = np.zeros(cols.shape)
    dw = np.zeros(w.shape)
    for g in range(groups):
        f, c = slice(g * Fg, (g + 1) * Fg), slice(g * Cg, (g + 1) * Cg)
        cols_g = cols[:, c].transpose(1, 2, 3, 0, 4, 5).reshape(Cg * KH * KW, -1)
        dout_g = dout[:, f].transpose(1, 0, 2, 3).reshape(Fg, -1)
        dw[f] = (dout_g @ cols_g.T).reshape(Fg, Cg, KH, KW)
        dcols_g = w[f].reshape(Fg, -1).T @ dout_g
        dcols[:, c] = dcols_g.reshape(Cg, KH, KW, N, HO, WO).transpose(3, 0, 1, 2, 4, 5)
    dx_pad = np.zeros(x_pad.shape)                          # col2im, the adjoint of im2col
    for u, v, rows, columns in taps:
        dx_pad[:, :, rows, columns] += dcols[:, :, u, v]
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, dout.sum(axis=(0, 2, 3))


def conv_transpose2d_forward(x, w, stride=1, pad=0, output_padding=0):
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    s = stride
    cols = (w.reshape(C_in, -1).T @ x.transpose(1, 0, 2, 3).reshape(C_in, -1)).reshape(
        C_out, KH, KW, N, H, W)                             # W^T x: one column per input pixel
    full = np.zeros((C_out, N, (H - 1) * s + KH + output_padding,
                     (W - 1) * s + KW + output_padding))
    for u in range(KH):                                     # col2im
        for v in range(KW):
            full[:, :, u:u + s * (H - 1) + 1:s, v:v + s * (W - 1) + 1:s] += cols[:, u, v]
    out = full.transpose(1, 0, 2, 3)
    return out[:, :, pad:out.shape[2] - pad, pad:out.shape[3] - pad]


def conv_transpose2d_backward(dout, x, w, stride=1, pad=0, output_padding=0):
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    s = stride
    dout_pad = np.pad(dout, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((C_out, KH, KW, N, H, W))               # im2col of the padded dout
    for u in range(KH):
        for v in range(KW):
            cols[:, u, v] = dout_pad[:, :, u:u + s * (H - 1) + 1:s,
                                     v:v + s * (W - 1) + 1:s].transpose(1, 0, 2, 3)
    cols = cols.reshape(C_out * KH * KW, N * H * W)
    x_mat = x.transpose(1, 0, 2, 3).reshape(C_in, N * H * W)
    dx = (w.reshape(C_in, -1) @ cols).reshape(C_in, N, H, W).transpose(1, 0, 2, 3)
    dw = (x_mat @ cols.T).reshape(w.shape)
    return dx, dw
