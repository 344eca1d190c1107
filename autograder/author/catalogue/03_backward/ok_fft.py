"""Correct, by FFT in float64: dX = dY * W and dW = X ⋆ dY as products of spectra."""

import numpy as np

EXPECTED_FAILURES = []


def conv2d_single_backward(dout, x, w):
    H, W = x.shape
    KH, KW = w.shape
    HO, WO = dout.shape
    # dX is the full convolution of dout with w: size HO + KH - 1 = H, so no wrap-around.
    dx = np.fft.irfft2(np.fft.rfft2(dout, (H, W)) * np.fft.rfft2(w, (H, W)), (H, W))
    # dW = X ⋆ dY is the convolution of x with dout rotated, read where dout fits inside x.
    size = (H + HO - 1, W + WO - 1)
    full = np.fft.irfft2(np.fft.rfft2(x, size) * np.fft.rfft2(dout[::-1, ::-1], size), size)
    dw = full[HO - 1:HO - 1 + KH, WO - 1:WO - 1 + KW]
    return dx, dw, np.float64(dout.sum())
