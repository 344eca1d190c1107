"""Correct, im2col: one matrix product per group; the transposed forward as col2im of W^T x,
the conv-as-matrix picture made literal."""

import numpy as np

EXPECTED_FAILURES = []


def im2col(x_pad, KH, KW, HO, WO, stride, dilation):
    """(N, C, Hp, Wp) -> (N, C, KH, KW, HO, WO): the taps of every window."""
    N, C = x_pad.shape[:2]
    cols = np.empty((N, C, KH, KW, HO, WO))
    for u in range(KH):
        for v in range(KW):
            cols[:, :, u, v] = x_pad[:, :, u * dilation:u * dilation + stride * (HO - 1) + 1:stride,
                                     v * dilation:v * dilation + stride * (WO - 1) + 1:stride]
    return cols


def col2im(cols, shape, stride, dilation):
    """The adjoint of im2col: add each tap back where it was read."""
    KH, KW = cols.shape[2:4]
    HO, WO = cols.shape[4:]
    out = np.zeros(shape)
    for u in range(KH):
        for v in range(KW):
            out[:, :, u * dilation:u * dilation + stride * (HO - 1) + 1:stride,
                v * dilation:v * dilation + stride * (WO - 1) + 1:stride] += cols[:, :, u, v]
    return out


def conv2d_backward(dout, x, w, stride=1, pad=0, dilation=1, groups=1):
    N, C, H, W = x.shape
    F, Cg, KH, KW = w.shape
    Fg = F // groups
    HO, WO = dout.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = im2col(x_pad, KH, KW, HO, WO, stride, dilation)
    dcols = np.zeros(cols.shape)
    dw = np.zeros(w.shape)
    for g in range(groups):
        f, c = slice(g * Fg, (g + 1) * Fg), slice(g * Cg, (g + 1) * Cg)
        cols_g = cols[:, c].transpose(1, 2, 3, 0, 4, 5).reshape(Cg * KH * KW, -1)
        dout_g = dout[:, f].transpose(1, 0, 2, 3).reshape(Fg, -1)
        dw[f] = (dout_g @ cols_g.T).reshape(Fg, Cg, KH, KW)
        dcols_g = w[f].reshape(Fg, -1).T @ dout_g
        dcols[:, c] = dcols_g.reshape(Cg, KH, KW, N, HO, WO).transpose(3, 0, 1, 2, 4, 5)
    dx_pad = col2im(dcols, x_pad.shape, stride, dilation)
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, dout.sum(axis=(0, 2, 3))


def conv_transpose2d_forward(x, w, stride=1, pad=0, output_padding=0):
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    cols = np.einsum("kouv,nkij->nouvij", w, x)                      # W^T x, one column per pixel
    full = col2im(cols, (N, C_out, (H - 1) * stride + KH + output_padding,
                         (W - 1) * stride + KW + output_padding), stride, 1)
    return full[:, :, pad:full.shape[2] - pad, pad:full.shape[3] - pad]


def conv_transpose2d_backward(dout, x, w, stride=1, pad=0, output_padding=0):
    N, C_in, H, W = x.shape
    KH, KW = w.shape[2:]
    dout_pad = np.pad(dout, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = im2col(dout_pad, KH, KW, H, W, stride, 1)                  # (N, C_out, KH, KW, H, W)
    return np.einsum("nouvij,kouv->nkij", cols, w), np.einsum("nouvij,nkij->kouv", cols, x)
