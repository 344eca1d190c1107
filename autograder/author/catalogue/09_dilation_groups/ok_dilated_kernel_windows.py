"""Correct: the kernel with zeros inserted, sliding_window_view and einsum; the transposed
forward as a gather (the zero-dilated x, fully padded, correlated with the rotated kernel)."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

EXPECTED_FAILURES = []


def conv2d_backward(dout, x, w, stride=1, pad=0, dilation=1, groups=1):
    N, C, H, W = x.shape
    F, Cg, KH, KW = w.shape
    G = groups
    HO, WO = dout.shape[2:]
    KDH, KDW = (KH - 1) * dilation + 1, (KW - 1) * dilation + 1
    w_dil = np.zeros((F, Cg, KDH, KDW))                               # the kernel with holes
    w_dil[:, :, ::dilation, ::dilation] = w
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(x_pad, (KDH, KDW), axis=(2, 3))[:, :, ::stride, ::stride]
    windows = windows[:, :, :HO, :WO].reshape(N, G, Cg, HO, WO, KDH, KDW)
    dg = dout.reshape(N, G, F // G, HO, WO)
    dw_dil = np.einsum("ngfij,ngcijuv->gfcuv", dg, windows).reshape(F, Cg, KDH, KDW)
    dw = dw_dil[:, :, ::dilation, ::dilation]                        # only the taps are weights
    dx_pad = np.zeros((N, G, Cg, *x_pad.shape[2:]))
    wg = w_dil.reshape(G, F // G, Cg, KDH, KDW)
    for u in range(KDH):
        for v in range(KDW):
            dx_pad[..., u:u + stride * (HO - 1) + 1:stride, v:v + stride * (WO - 1) + 1:stride] += (
                np.einsum("ngfij,gfc->ngcij", dg, wg[..., u, v]))
    dx = dx_pad.reshape(x_pad.shape)[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, dout.sum(axis=(0, 2, 3))


def conv_transpose2d_forward(x, w, stride=1, pad=0, output_padding=0):
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    s, op = stride, output_padding
    x_dil = np.zeros((N, C_in, (H - 1) * s + 1 + op, (W - 1) * s + 1 + op))
    x_dil[:, :, :(H - 1) * s + 1:s, :(W - 1) * s + 1:s] = x
    full = np.pad(x_dil, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1)))
    windows = sliding_window_view(full, (KH, KW), axis=(2, 3))
    out = np.einsum("nkpquv,kouv->nopq", windows, w[..., ::-1, ::-1])
    return out[:, :, pad:out.shape[2] - pad, pad:out.shape[3] - pad]


def conv_transpose2d_backward(dout, x, w, stride=1, pad=0, output_padding=0):
    H, W = x.shape[2:]
    KH, KW = w.shape[2:]
    dout_pad = np.pad(dout, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(dout_pad, (KH, KW), axis=(2, 3))[:, :, ::stride, ::stride]
    windows = windows[:, :, :H, :W]                                   # (N, C_out, H, W, KH, KW)
    return (np.einsum("noijuv,kouv->nkij", windows, w),
            np.einsum("noijuv,nkij->kouv", windows, x))
