"""Correct, by FFT in float32: the product of spectra, cropped to the valid windows and strided."""

import numpy as np

EXPECTED_FAILURES = []


def conv2d_single_forward(x, w, b=0.0, stride=1, pad=0):
    if np.ndim(x) != 2 or np.ndim(w) != 2:
        raise ValueError("x and w must be 2-D")
    if stride < 1 or pad < 0:
        raise ValueError("stride must be >= 1 and pad >= 0")
    x_pad = np.pad(x, pad).astype(np.float32)
    H, W = x_pad.shape
    KH, KW = w.shape
    if KH > H or KW > W:
        raise ValueError("the kernel is larger than the padded input")
    # Cross-correlation is convolution with the flipped kernel; full size avoids wrap-around.
    shape = (H + KH - 1, W + KW - 1)
    spectrum = np.fft.rfft2(x_pad, shape) * np.fft.rfft2(w[::-1, ::-1].astype(np.float32), shape)
    full = np.fft.irfft2(spectrum, shape)
    valid = full[KH - 1:H, KW - 1:W]
    return (valid[::stride, ::stride] + b).astype(np.float32)
