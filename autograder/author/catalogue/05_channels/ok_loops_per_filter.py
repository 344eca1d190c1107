"""Correct, plain loops over n, f, i, j with the channels vectorised; lists and axis indices."""

import numpy as np

EXPECTED_FAILURES = []


def conv2d_forward(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    HO = (H + 2 * pad - KH) // stride + 1
    WO = (W + 2 * pad - KW) // stride + 1
    out = np.zeros((N, F, HO, WO))
    for n in range(N):
        for f in range(F):
            for i in range(HO):
                for j in range(WO):
                    window = x_pad[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out


def conv2d_backward(dout, x, w, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    HO, WO = dout.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros(x_pad.shape)
    dw = np.zeros(w.shape)
    db = np.zeros(F)
    for n in range(N):
        for f in range(F):
            for i in range(HO):
                for j in range(WO):
                    rows = slice(i * stride, i * stride + KH)
                    cols = slice(j * stride, j * stride + KW)
                    dw[f] += dout[n, f, i, j] * x_pad[n, :, rows, cols]
                    dx_pad[n, :, rows, cols] += dout[n, f, i, j] * w[f]
                    db[f] += dout[n, f, i, j]
    return dx_pad[:, :, pad:H + pad, pad:W + pad], dw, db


def gradient_shapes(x_shape, w_shape, stride=1, pad=0, dilation=1):
    span_h, span_w = (dilation * (k - 1) + 1 for k in w_shape[2:])
    out_h = (x_shape[2] + 2 * pad - span_h) // stride + 1
    out_w = (x_shape[3] + 2 * pad - span_w) // stride + 1
    return ([x_shape[0], w_shape[0], out_h, out_w], list(x_shape), list(w_shape), [w_shape[0]])


def summed_axes(gradient):
    if gradient == "dx":
        return [3, 1, 2]
    return [0, 2, 3]
