"""Graded checks of notebook 04's find-the-bug section: the seeds' im2col and col2im, fixed.

The seeds' layer computes a convolution as a matrix product on *columns*: ``im2col`` lays each
window the kernel reads out as one row, ``cols (HO * WO, KH * KW)``, row ``i * WO + j`` for output
``(i, j)``, each window flattened row by row; ``col2im`` is its adjoint, adding each row of a
``(HO * WO, KH * KW)`` array back into its window and cropping the padding, which is how the
backward pass turns ``dcols = outer(dout, w)`` into ``dx``. The truths are PyTorch's ``unfold``
and ``fold`` in float64 (same layout). The backward pass itself is graded by
:func:`course.backward_checks.check_single_backward` with ``strided=True``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F

from course.backward_checks import BACKWARD_TOL
from course.cases import ConvCase, arrays, rng_for
from course.checks import CheckFailure, Misconception, call_student, compare, report


def im2col(x: np.ndarray, KH: int, KW: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """The windows of ``x (H, W)`` as rows, ``(HO * WO, KH * KW)``, by ``torch.unfold``."""
    xt = torch.tensor(np.asarray(x, dtype=np.float64))[None, None]
    return F.unfold(xt, (KH, KW), padding=pad, stride=stride)[0].T.numpy()


def col2im(cols: np.ndarray, x_shape: tuple[int, int], KH: int, KW: int, stride: int = 1,
           pad: int = 0) -> np.ndarray:
    """Each row of ``cols (HO * WO, KH * KW)`` added into its window, cropped: ``(H, W)``."""
    ct = torch.tensor(np.asarray(cols, dtype=np.float64).T.copy())[None]
    return F.fold(ct, tuple(x_shape), (KH, KW), padding=pad, stride=stride)[0, 0].numpy()


def _label(case: ConvCase) -> str:
    return case.describe(single=True)


# ------------------------------------------------------------------------------------- im2col

def _im2col_misconceptions(x, KH, KW, stride, pad) -> list[Misconception]:
    H, W = x.shape
    HO, WO = (H + 2 * pad - KH) // stride + 1, (W + 2 * pad - KW) // stride + 1
    x_pad = np.pad(x, pad)

    def windows(step, order="C"):
        if (HO - 1) * step + KH > x_pad.shape[0] or (WO - 1) * step + KW > x_pad.shape[1]:
            raise ValueError("the windows do not fit")
        return np.array([x_pad[i * step:i * step + KH, j * step:j * step + KW].ravel(order)
                         for i in range(HO) for j in range(WO)])

    return [
        Misconception("stride ignored in im2col", lambda: windows(1),
                      "your windows start at (i, j), not at (i*stride, j*stride): output "
                      "(i, j) reads x_pad[i*stride : i*stride + KH, j*stride : j*stride + KW]."),
        Misconception("windows flattened by columns", lambda: windows(stride, "F"),
                      "each window is flattened column by column: lay it out row by row "
                      "(window.ravel(), NumPy's default), as w.ravel() is."),
        Misconception("columns transposed", lambda: im2col(x, KH, KW, stride, pad).T,
                      "your array is (KH * KW, HO * WO): one row per output pixel is expected, "
                      "(HO * WO, KH * KW)."),
    ]


def check_im2col(fn: Callable, cases: Iterable[ConvCase]) -> None:
    """``fn(x, KH, KW, stride=, pad=)`` must give the window rows of ``x`` on valid inputs.

    The cases are non-square inputs that tile exactly; the seeds' check of the width against the
    kernel *height* refuses them.
    """
    passed = []
    for case in cases:
        x = arrays(case, "seed-im2col").x[0, 0]
        label = _label(case)
        expected = im2col(x, case.KH, case.KW, case.stride, case.pad)
        try:
            got = call_student(fn, x, case.KH, case.KW, label=label, stride=case.stride,
                               pad=case.pad)
        except CheckFailure as failure:
            if " raised " not in str(failure):
                raise
            H, W, KH, KW, s, p = case.H, case.W, case.KH, case.KW, case.stride, case.pad
            raise CheckFailure(
                f"{failure}\nThis input is valid: the windows tile the padded input exactly, "
                f"(H + 2 pad - KH) % stride = {(H + 2 * p - KH) % s} for the height and "
                f"(W + 2 pad - KW) % stride = {(W + 2 * p - KW) % s} for the width. A size "
                f"check must compare each axis with its own kernel size, KH for the height and "
                f"KW for the width (here the width against KH gives "
                f"(W + 2 pad - KH) % stride = {(W + 2 * p - KH) % s})."
            ) from None
        misconceptions = _im2col_misconceptions(x, case.KH, case.KW, case.stride, case.pad)
        error = compare("cols", got, expected, label, BACKWARD_TOL, misconceptions)
        HO, WO = case.out_hw
        passed.append(f"{label}: cols {HO * WO}x{case.KH * case.KW}, error {error:.1e}")
    report(passed, "PyTorch's unfold (one row per output pixel, each window row by row)")


# ------------------------------------------------------------------------------------- col2im

def _col2im_padded(cols, x_shape, KH, KW, stride, pad) -> np.ndarray:
    """col2im before the crop: ``(H + 2 pad, W + 2 pad)``."""
    H, W = x_shape
    return col2im(cols, (H + 2 * pad, W + 2 * pad), KH, KW, stride, 0)


def _scatter(cols, x_shape, KH, KW, stride, pad, step, add=True) -> np.ndarray:
    """A plain scatter whose windows start at ``(i * step, j * step)``, += or =, then cropped."""
    H, W = x_shape
    HO, WO = (H + 2 * pad - KH) // stride + 1, (W + 2 * pad - KW) // stride + 1
    dx_pad = np.zeros((H + 2 * pad, W + 2 * pad))
    for i, j in np.ndindex(HO, WO):
        window = (slice(i * step, i * step + KH), slice(j * step, j * step + KW))
        block = cols[i * WO + j].reshape(KH, KW)
        dx_pad[window] = dx_pad[window] + block if add else block
    return dx_pad[pad:pad + H, pad:pad + W]


def _col2im_misconceptions(cols, x_shape, KH, KW, stride, pad) -> list[Misconception]:
    H, W = x_shape

    def padded():
        return _col2im_padded(cols, x_shape, KH, KW, stride, pad)

    def only(condition, value):
        if not condition:
            raise ValueError("not different here")
        return value()

    crop = "Crop with dx_pad[pad:pad + H, pad:pad + W]"
    return [
        Misconception("crop empty at pad 0", lambda: only(pad == 0, lambda: padded()[0:0, 0:0]),
                      "at pad 0 your crop is EMPTY: dx_pad[pad:-pad] is dx_pad[0:-0] = "
                      f"dx_pad[0:0] (-0 is 0), an array with no rows. {crop}."),
        Misconception("crop of 1", lambda: only(pad != 1, lambda: padded()[1:-1, 1:-1]),
                      f"the crop is hard-coded to 1 row and column per side. {crop}."),
        Misconception("not cropped", lambda: only(pad > 0, padded),
                      f"your dx still has the padding rows and columns. {crop}."),
        Misconception("stride forgotten",
                      lambda: only(stride > 1, lambda: _scatter(cols, x_shape, KH, KW, stride,
                                                                pad, 1)),
                      "stride forgotten: row i * WO + j of cols goes back into the window at "
                      "(i, j), but output (i, j) read the window at (i*stride, j*stride): "
                      "dx_pad[i*stride : i*stride + KH, j*stride : j*stride + KW] += ..."),
        Misconception("scatter with =",
                      lambda: _scatter(cols, x_shape, KH, KW, stride, pad, stride, add=False),
                      "each window overwrote dx_pad (=) instead of adding to it (+=). Windows "
                      "overlap: a pixel read by several windows collects all of their "
                      "gradients."),
        Misconception("stride forgotten and scatter with =",
                      lambda: only(stride > 1, lambda: _scatter(cols, x_shape, KH, KW, stride,
                                                                pad, 1, add=False)),
                      "two things: the windows are placed at (i, j) instead of "
                      "(i*stride, j*stride) (stride forgotten), and they overwrite dx_pad (=) "
                      "instead of adding to it (+=)."),
    ]


def check_col2im(fn: Callable, cases: Iterable[ConvCase]) -> None:
    """``fn(cols, x_shape, KH, KW, stride=, pad=)`` must add every row back into its window.

    ``cols`` is random (seeded), shape ``(HO * WO, KH * KW)``; the answer has the shape of x.
    """
    passed = []
    for case in cases:
        HO, WO = case.out_hw
        cols = rng_for(case, "seed-col2im").standard_normal((HO * WO, case.KH * case.KW))
        x_shape = (case.H, case.W)
        label = _label(case)
        expected = col2im(cols, x_shape, case.KH, case.KW, case.stride, case.pad)
        misconceptions = _col2im_misconceptions(cols, x_shape, case.KH, case.KW, case.stride,
                                                case.pad)
        try:
            got = call_student(fn, cols, x_shape, case.KH, case.KW, label=label,
                               stride=case.stride, pad=case.pad)
        except CheckFailure as failure:
            hint = ("\nThis case has pad 0: a crop dx_pad[pad:-pad] is empty there (-0 is 0), "
                    "and whatever uses the empty array next may crash."
                    if case.pad == 0 and "not implemented" not in str(failure) else "")
            raise CheckFailure(f"{failure}{hint}") from None
        error = compare("dx", got, expected, label, BACKWARD_TOL, misconceptions)
        passed.append(f"{label}: random cols {HO * WO}x{case.KH * case.KW} -> dx "
                      f"{case.H}x{case.W}, error {error:.1e}")
    report(passed, "PyTorch's fold (each row added into its window, padding cropped)")
