"""Graded checks of the single-channel backward pass (notebook 03; reused by 04 for stride and pad).

A backward function returns ``(dx, dw, db)`` for an upstream gradient ``dout (HO, WO)``, an input
``x (H, W)`` and a kernel ``w (KH, KW)``. :func:`check_single_backward` grades one of the three per
call, so that each test cell (and its points) covers one idea: ``db = sum(dout)``, ``dw = x ⋆ dout``
(no flip), ``dx = full cross-correlation of dout with rot180(w)``. The truth is PyTorch's autograd
in float64 (:mod:`course.reference`), with a random upstream gradient: an all-ones ``dout`` hides
every bug in how it is indexed. With stride and padding (notebook 04) the same checks name the
strided wrong answers too (stride ignored, ``dY`` not dilated, a crop that is empty at pad 0 or off
by some rows, a pad hard-coded to 1, leftover rows dropped, heights used for widths), and a crash
or a wrong shape on a case with pad 0, sizes that don't divide, or H != W comes with what to check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from course import reference
from course.cases import ConvCase, arrays
from course.checks import (
    CheckFailure,
    Misconception,
    as_float_array,
    call_student,
    compare,
    report,
)

# Gradients must be computed in float64 and agree to a relative error of 1e-9 (error scaled by the
# largest entry of the true gradient). Each entry is a sum of at most a few dozen products, so
# float64 round-off is about 1e-15, far inside; float32 arithmetic gives about 1e-7, outside, so a
# float32 gradient fails (as it would in a float64 gradient check); and every indexing bug (a
# flip, a crop, a missing term) gives an error of order 1. An FFT in float64 is about 1e-15 too.
BACKWARD_TOL = 1e-9
PARTS = ("dx", "dw", "db")


def _rot180(a: np.ndarray) -> np.ndarray:
    return a[::-1, ::-1]


def _stride1_pad0(stride: int, pad: int) -> None:
    """Some wrong formulas are only defined (or only typical) at stride 1 and pad 0."""
    if stride != 1 or pad != 0:
        raise ValueError("this wrong answer is modelled at stride 1, pad 0 only")


def _full_xcorr(dout: np.ndarray, kernel: np.ndarray, pad_width) -> np.ndarray:
    """Cross-correlate ``np.pad(dout, pad_width)`` with ``kernel`` (valid positions only)."""
    return np.einsum("pquv,uv->pq", sliding_window_view(np.pad(dout, pad_width), kernel.shape),
                     kernel)


def _needs(condition: bool) -> None:
    """A wrong formula that only differs from the right one (or only exists) on some cases."""
    if not condition:
        raise ValueError("this wrong answer is not defined, or not different, here")


def _dx_padded(dout, x, w, stride, pad) -> np.ndarray:
    """Autograd's gradient with respect to the padded input: ``(H + 2 pad, W + 2 pad)``."""
    return reference.conv2d_single_backward(dout, np.pad(x, pad), w, stride, 0)[0]


def _dw_on(dout, x_pad, KH, KW, stride) -> np.ndarray:
    """``sum over (i, j) of dout[i, j] * x_pad[i s : i s + KH, j s : j s + KW]``, if it fits."""
    HO, WO = dout.shape
    if (HO - 1) * stride + KH > x_pad.shape[0] or (WO - 1) * stride + KW > x_pad.shape[1]:
        raise ValueError("the windows do not fit")
    windows = sliding_window_view(x_pad, (KH, KW))[::stride, ::stride][:HO, :WO]
    return np.einsum("ijuv,ij->uv", windows, dout)


STRIDE_IGNORED = ("stride ignored: your {part} is what stride 1 would give. Output (i, j) read "
                  "the window whose top-left corner is at (i*stride, j*stride) of the padded "
                  "input; {fix}")
CROP = ("dx is the padded gradient dx_pad (shape (H + 2 pad, W + 2 pad)) with pad rows and "
        "columns cut from EVERY side: dx = dx_pad[pad:pad + H, pad:pad + W].")
PAD_ONE = ("pad hard-coded to 1: your {part} is right at pad 1 only. Use the pad argument "
           "everywhere (np.pad(x, pad), and the crop dx_pad[pad:pad + H, pad:pad + W]).")


def _dx_strided_misconceptions(dout, x, w, stride, pad) -> list[Misconception]:
    KH, KW = w.shape
    H, W = x.shape
    HO, WO = dout.shape
    r_h, r_w = (H + 2 * pad - KH) % stride, (W + 2 * pad - KW) % stride

    def padded():
        return _dx_padded(dout, x, w, stride, pad)

    def stride_ignored():
        _needs(stride > 1)
        dx_pad = np.zeros((H + 2 * pad, W + 2 * pad))
        for i, j in np.ndindex(HO, WO):
            dx_pad[i:i + KH, j:j + KW] += dout[i, j] * w
        return dx_pad[pad:pad + H, pad:pad + W]

    def not_dilated():
        _needs(stride > 1)
        full = _full_xcorr(dout, _rot180(w), ((KH - 1, KH - 1), (KW - 1, KW - 1)))
        return full[pad:full.shape[0] - pad, pad:full.shape[1] - pad]

    def not_dilated_cropped_to_size():
        _needs(stride > 1)
        full = _full_xcorr(dout, _rot180(w), ((KH - 1, KH - 1), (KW - 1, KW - 1)))
        return full[pad:pad + H, pad:pad + W]

    def leftover_dropped():
        _needs(r_h > pad or r_w > pad)
        return padded()[:H + 2 * pad - r_h, :W + 2 * pad - r_w][pad:pad + H, pad:pad + W]

    def crop_empty():
        _needs(pad == 0)
        return padded()[pad:-pad, pad:-pad]

    def crop_rows_empty():
        _needs(pad == 0)
        return padded()[pad:-pad, :]

    def not_cropped():
        _needs(pad > 0)
        return padded()

    def top_left():
        _needs(pad > 0)
        return padded()[:H, :W]

    def bottom_right():
        _needs(pad > 0)
        return padded()[2 * pad:, 2 * pad:]

    def crop_one():
        _needs(pad != 1)
        return padded()[1:-1, 1:-1]

    def crop_one_to_size():
        _needs(pad != 1)
        return padded()[1:1 + H, 1:1 + W]

    def pad_one_and_crop_one():
        _needs(pad == 0)
        dx_pad = np.zeros((H + 2, W + 2))
        dx_pad[:H, :W] = padded()
        return dx_pad[1:1 + H, 1:1 + W]

    def height_for_width():
        _needs(H != W)
        return padded()[pad:pad + H, pad:pad + H]

    def dout_transposed():
        _needs(HO == WO)
        return reference.conv2d_single_backward(dout.T.copy(), x, w, stride, pad)[0]

    dilate = ("dilate dout (put stride-1 zeros between its entries, dY_dil[i*stride, "
              "j*stride] = dout[i, j]) before the full correlation, or scatter "
              "dout[i, j] * w into dx_pad[i*stride : i*stride + KH, j*stride : j*stride + KW].")
    empty = ("at pad 0 your crop is EMPTY: dx_pad[pad:-pad] is dx_pad[0:-0] = dx_pad[0:0] "
             "(-0 is 0), an array with no rows. (This bug often crashes instead, when the empty "
             f"array is reshaped or added to.) {CROP}")
    leftover = ("your dx is missing its last rows or columns: when the stride does not divide "
                "H + 2 pad - KH, the last (H + 2 pad - KH) % stride rows of the padded input are "
                "read by no window. Their gradient is exactly 0, but dx must still have the shape "
                "of x: pad the full correlation with those zero rows and columns at the bottom "
                "and right (or allocate dx_pad with shape (H + 2 pad, W + 2 pad) and scatter into "
                "it).")
    wrong_crop = f"the padding is cropped from the wrong place: {CROP}"
    return [
        Misconception("stride ignored in dX", stride_ignored,
                      STRIDE_IGNORED.format(part="dx", fix=dilate)),
        Misconception("dY not dilated", not_dilated,
                      f"dY not dilated: you full-correlated dout as it is, which is right at "
                      f"stride 1 only. {dilate[0].upper()}{dilate[1:]}"),
        Misconception("dY not dilated, cut to size", not_dilated_cropped_to_size,
                      f"dY not dilated: you full-correlated dout as it is, which is right at "
                      f"stride 1 only. {dilate[0].upper()}{dilate[1:]}"),
        Misconception("leftover rows dropped", leftover_dropped, leftover),
        Misconception("crop empty at pad 0", crop_empty, empty),
        Misconception("crop of the rows empty at pad 0", crop_rows_empty, empty),
        Misconception("padding not cropped", not_cropped,
                      f"your dx still has the padding: {CROP}"),
        Misconception("cropped at the top-left", top_left, wrong_crop),
        Misconception("cropped at the bottom-right", bottom_right, wrong_crop),
        Misconception("crop of 1", crop_one, PAD_ONE.format(part="dx")),
        Misconception("crop of 1, cut to size", crop_one_to_size, PAD_ONE.format(part="dx")),
        Misconception("pad 1 and crop 1", pad_one_and_crop_one, PAD_ONE.format(part="dx")),
        Misconception("height used for the width", height_for_width,
                      "height and width mixed up: your dx has H columns. "
                      "dx = dx_pad[pad:pad + H, pad:pad + W], with W (x.shape[1]) for columns."),
        Misconception("dout transposed", dout_transposed,
                      "height and width mixed up: you read dout[j, i] where dout[i, j] belongs "
                      "(the output is square here, so the shapes fit). i runs over rows (HO), "
                      "j over columns (WO)."),
    ]


def _dw_strided_misconceptions(dout, x, w, stride, pad) -> list[Misconception]:
    KH, KW = w.shape
    HO, WO = dout.shape

    def stride_ignored():
        _needs(stride > 1)
        return _dw_on(dout, np.pad(x, pad), KH, KW, 1)

    def not_dilated():
        _needs(stride > 1)
        return np.einsum("uvij,ij->uv", sliding_window_view(np.pad(x, pad), dout.shape), dout)

    def pad_ignored():
        _needs(pad > 0)
        return _dw_on(dout, x, KH, KW, stride)

    def pad_one():
        _needs(pad != 1)
        return _dw_on(dout, np.pad(x, 1), KH, KW, stride)

    def dout_transposed():
        _needs(HO == WO)
        return reference.conv2d_single_backward(dout.T.copy(), x, w, stride, pad)[1]

    window = ("dw[u, v] = sum over (i, j) of dout[i, j] * x_pad[i*stride + u, j*stride + v], "
              "with x_pad = np.pad(x, pad).")
    return [
        Misconception("stride ignored in dW", stride_ignored,
                      STRIDE_IGNORED.format(part="dw", fix=window)),
        Misconception("dY not dilated in dW", not_dilated,
                      "dY not dilated: you slid dout as it is over x_pad (right at stride 1 "
                      "only), so dw has the wrong shape. Dilate dout first (stride-1 zeros "
                      f"between its entries), or use {window}"),
        Misconception("padding ignored in dW", pad_ignored,
                      f"your dw reads x without its padding: {window}"),
        Misconception("pad hard-coded to 1 in dW", pad_one, PAD_ONE.format(part="dw")),
        Misconception("dout transposed in dW", dout_transposed,
                      "height and width mixed up: you read dout[j, i] where dout[i, j] belongs "
                      f"(the output is square here, so the shapes fit). {window}"),
    ]


def _dx_misconceptions(dout, x, w, stride, pad) -> list[Misconception]:
    KH, KW = w.shape
    H, W = x.shape

    def no_flip():
        return reference.conv2d_single_backward(dout, x, _rot180(w), stride, pad)[0]

    def valid_padded_back():
        _stride1_pad0(stride, pad)
        if H - 2 * (KH - 1) <= 0 or W - 2 * (KW - 1) <= 0:
            raise ValueError("no valid correlation here")
        valid = _full_xcorr(dout, _rot180(w), 0)
        return np.pad(valid, ((KH - 1, KH - 1), (KW - 1, KW - 1)))

    def overwritten():
        dx_pad = np.zeros((H + 2 * pad, W + 2 * pad))
        for i in range(dout.shape[0]):
            for j in range(dout.shape[1]):
                dx_pad[i * stride:i * stride + KH, j * stride:j * stride + KW] = dout[i, j] * w
        return dx_pad[pad:pad + H, pad:pad + W]

    def np_pad_pairs():
        _stride1_pad0(stride, pad)
        return _full_xcorr(dout, _rot180(w), (KH - 1, KW - 1))

    return [
        Misconception("dX without the flip", no_flip,
                      "dX needs the kernel rotated by 180 degrees: your dx slides w unrotated. "
                      "dX is the full cross-correlation of dout with w[::-1, ::-1]; equally, each "
                      "output pixel (i, j) adds dout[i, j] * w (unrotated) into the window it "
                      "read."),
        Misconception("dX as a valid correlation", valid_padded_back,
                      "your dx is zero on a border KH-1 rows and KW-1 columns wide: a valid "
                      "correlation cropped the edges. Border pixels are read by fewer windows, "
                      "not by none: pad dout with KH-1 rows and KW-1 columns of zeros on every "
                      "side (a full correlation), so that dx has the shape of x."),
        Misconception("dX overwritten", overwritten,
                      "each window overwrote dx instead of adding to it (= instead of +=). "
                      "Windows overlap: a pixel read by several windows collects all of their "
                      "contributions, dx[window] += dout[i, j] * w."),
        Misconception("np.pad pairs", np_pad_pairs,
                      "np.pad(dout, (KH-1, KW-1)) pads KH-1 before and KW-1 after on BOTH axes. "
                      "Give one (before, after) pair per axis: "
                      "np.pad(dout, ((KH-1, KH-1), (KW-1, KW-1)))."),
        *_dx_strided_misconceptions(dout, x, w, stride, pad),
    ]


def _dw_misconceptions(dout, x, w, stride, pad) -> list[Misconception]:
    KH, KW = w.shape
    right = "dW = X ⋆ dY, dw[u, v] = sum over (i, j) of dout[i, j] * x[i + u, j + v]"

    def rotated():
        return _rot180(reference.conv2d_single_backward(dout, x, w, stride, pad)[1])

    def convolution():
        return reference.conv2d_single_backward(_rot180(dout), x, w, stride, pad)[1]

    def last_window():
        x_pad = np.pad(x, pad)
        i, j = dout.shape[0] - 1, dout.shape[1] - 1
        return dout[i, j] * x_pad[i * stride:i * stride + KH, j * stride:j * stride + KW]

    return [
        Misconception("dW rotated", rotated,
                      "dW needs no flip: your dw is the right one rotated by 180 degrees (a "
                      "flipped kernel in the weight gradient, or dY ⋆ X with the roles swapped). "
                      f"{right}. The 180-degree rotation belongs to dX only."),
        Misconception("dW as a convolution", convolution,
                      "dW needs no flip: you slid dout rotated by 180 degrees over x (a true "
                      f"convolution X * dY). {right}. The rotation belongs to dX only."),
        Misconception("dW from the last window", last_window,
                      "your dw holds only the last window's contribution: dw = ... overwrites. "
                      "Every output pixel contributes: dw += dout[i, j] * (the window of x it "
                      "read)."),
        *_dw_strided_misconceptions(dout, x, w, stride, pad),
    ]


def _db_misconceptions(dout, x, w, stride, pad) -> list[Misconception]:
    return [
        Misconception("db is dout", lambda: dout,
                      "db is one number: the bias is added to every output pixel, so "
                      "db = sum of dout over all of them, a float."),
        Misconception("db is the mean", lambda: dout.mean(),
                      "db is the sum of dout, not its mean: each output pixel adds its own "
                      "dout[i, j] * 1 to db."),
        Misconception("db summed over rows only", lambda: dout.sum(axis=0),
                      "db must sum dout over both axes (rows and columns), to one number."),
        Misconception("db summed over columns only", lambda: dout.sum(axis=1),
                      "db must sum dout over both axes (rows and columns), to one number."),
        Misconception("db counts pixels", lambda: float(dout.size),
                      "your db is the number of output pixels: the sum of an all-ones upstream "
                      "gradient. Weight each pixel by its upstream gradient: db = sum of dout."),
    ]


MISCONCEPTIONS = {"dx": _dx_misconceptions, "dw": _dw_misconceptions, "db": _db_misconceptions}


def as_float64(name: str, value, label: str) -> np.ndarray:
    """``value`` as a float array, refusing precisions coarser than float64 with a clear reason."""
    array = as_float_array(name, value, label)
    if np.finfo(array.dtype).eps > np.finfo(np.float64).eps:
        raise CheckFailure(f"{name} has dtype {array.dtype} (on {label}): compute gradients in "
                           f"float64. The check asks for a relative error <= {BACKWARD_TOL:g}; "
                           "float32 rounding alone is about 1e-7.")
    return array


def unpack_gradients(result, fn: Callable, label: str) -> dict:
    """``{"dx": ..., "dw": ..., "db": ...}`` from what a backward returned (a 3-tuple or list)."""
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        raise CheckFailure(f"{fn.__name__} should return a tuple (dx, dw, db), got "
                           f"{type(result).__name__} (on {label}).")
    return dict(zip(PARTS, result, strict=True))


def check_backward_part(part: str, got, dout: np.ndarray, x: np.ndarray, w: np.ndarray,
                        stride: int, pad: int, label: str) -> float:
    """Compare one of ``dx``, ``dw``, ``db`` with autograd; explain known wrong answers."""
    truth = reference.conv2d_single_backward(dout, x, w, stride, pad)
    expected = np.asarray(truth[PARTS.index(part)], dtype=np.float64)
    misconceptions = MISCONCEPTIONS[part](dout, x, w, stride, pad)
    got = as_float64(part, got, label)
    if part == "db" and got.ndim != 0:
        cause = next((m.advice for m in misconceptions
                      if m.matches(got, expected, BACKWARD_TOL)), None)
        hint = f"\nLikely cause: {cause}" if cause else ""
        raise CheckFailure(f"db should be one number (a float), got an array of shape "
                           f"{got.shape} (on {label}).{hint}")
    return compare(part, got, expected, label, BACKWARD_TOL, misconceptions)


def case_hints(case: ConvCase, message: str) -> str:
    """What to check when a strided case crashes or gives a wrong shape, from the case's traits.

    Empty when the failure already names its likely cause, or is a value error or a stub.
    """
    if "Likely cause" in message or not (" raised " in message or " has shape " in message):
        return ""
    H, W, KH, KW, stride, pad = case.H, case.W, case.KH, case.KW, case.stride, case.pad
    hints = []
    if pad == 0:
        hints.append("This case has pad 0. If you crop with dx_pad[pad:-pad], that slice is "
                     "EMPTY at pad 0 (-0 is 0, so [0:-0] is [0:0]): crop with "
                     "dx_pad[pad:pad + H, pad:pad + W].")
    if (H + 2 * pad - KH) % stride or (W + 2 * pad - KW) % stride:
        hints.append(f"Here the stride {stride} does not divide H + 2 pad - KH = "
                     f"{H + 2 * pad - KH} (or W + 2 pad - KW = {W + 2 * pad - KW}). The input is "
                     "valid (the output size is floored): the leftover rows and columns of the "
                     "padded input are read by no window and get a gradient of exactly 0, and dx "
                     "still has the shape of x.")
    if H != W or KH != KW:
        hints.append("Here H != W and KH != KW: a crash or a wrong shape often means a height "
                     "was used for a width somewhere (H for W, KH for KW, HO for WO).")
    return "".join(f"\nTo check: {hint}" for hint in hints)


def check_single_backward(conv2d_single_backward: Callable, cases: Iterable[ConvCase], part: str,
                          strided: bool = False) -> None:
    """``conv2d_single_backward(dout, x, w)`` must give autograd's ``part`` on every case.

    ``part`` is ``"dx"``, ``"dw"`` or ``"db"``: only that one of the returned ``(dx, dw, db)`` is
    graded, so a cell's points depend on one idea. With ``strided`` the function is called as
    ``fn(dout, x, w, stride=..., pad=...)`` (notebook 04); without, every case must be stride 1,
    pad 0. Arrays are the seeded random ones of :func:`course.cases.arrays`, a random ``dout``.
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    passed = []
    for case in cases:
        if not strided and (case.stride, case.pad) != (1, 0):
            raise ValueError(f"case {case.name} has a stride or padding: use strided=True")
        data = arrays(case, "single-backward")
        x, w, dout = data.x[0, 0], data.w[0, 0], data.dout[0, 0]
        label = (case.describe(single=True) if strided
                 else f"x {case.H}x{case.W}, w {case.KH}x{case.KW}")
        kwargs = {"stride": case.stride, "pad": case.pad} if strided else {}
        try:
            result = call_student(conv2d_single_backward, dout, x, w, label=label, **kwargs)
            got = unpack_gradients(result, conv2d_single_backward, label)[part]
            error = check_backward_part(part, got, dout, x, w, case.stride, case.pad, label)
        except CheckFailure as failure:
            if not strided:
                raise
            raise CheckFailure(f"{failure}{case_hints(case, str(failure))}") from None
        passed.append(f"{label}, random dout {dout.shape[0]}x{dout.shape[1]}: {part} relative "
                      f"error {error:.1e}")
    report(passed, f"PyTorch's autograd in {part} (float64, relative error <= {BACKWARD_TOL:g})")
