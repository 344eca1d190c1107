"""Correct, im2col style: loops over kernel offsets (u, v), tensordot for the sums."""

import numpy as np

EXPECTED_FAILURES = []


def conv2d_forward(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    HO = (H + 2 * pad - KH) // stride + 1
    WO = (W + 2 * pad - KW) // stride + 1
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((N, C, KH, KW, HO, WO))      # [n, c, u, v, i, j]: x_pad[n, c, i s + u, j s + v]
    for u in range(KH):
        for v in range(KW):
            cols[:, :, u, v] = x_pad[:, :, u:u + stride * HO:stride, v:v + stride * WO:stride]
    out = np.tensordot(w, cols, axes=([1, 2, 3], [1, 2, 3]))        # (F, N, HO, WO)
    return out.transpose(1, 0, 2, 3) + b.reshape(1, F, 1, 1)


def conv2d_backward(dout, x, w, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    HO, WO = dout.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((N, C, KH, KW, HO, WO))      # [n, c, u, v, i, j]: x_pad[n, c, i s + u, j s + v]
    for u in range(KH):
        for v in range(KW):
            cols[:, :, u, v] = x_pad[:, :, u:u + stride * HO:stride, v:v + stride * WO:stride]
    dw = np.tensordot(dout, cols, axes=([0, 2, 3], [0, 4, 5]))      # (F, C, KH, KW)
    dcols = np.tensordot(w, dout, axes=([0], [1]))                  # (C, KH, KW, N, HO, WO)
    dx_pad = np.zeros(x_pad.shape)
    for u in range(KH):
        for v in range(KW):
            dx_pad[:, :, u:u + stride * HO:stride, v:v + stride * WO:stride] += (
                dcols[:, u, v].transpose(1, 0, 2, 3))
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, np.sum(dout, axis=(0, 2, 3))
