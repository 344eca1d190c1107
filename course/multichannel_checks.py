"""Graded checks of notebook 05: the conv layer with channels, filters and a batch, in NCHW.

``conv2d_forward(x, w, b, stride, pad)`` maps ``x (N, C, H, W)``, ``w (F, C, KH, KW)``, ``b (F,)``
to ``out (N, F, HO, WO)``; ``conv2d_backward(dout, x, w, stride, pad)`` returns ``(dx, dw, db)``
of shapes ``(N, C, H, W)``, ``(F, C, KH, KW)``, ``(F,)``:

    db[f]       = sum over n, i, j of dout[n, f, i, j]
    dw[f, c]    = sum over n of  X[n, c] ⋆ dY[n, f]
    dx[n, c]    = sum over f of  full-xcorr(dY[n, f], rot180(W[f, c]))

The truth is PyTorch in float64 (:mod:`course.reference`); the arrays are i.i.d. zero-mean channels
and a random ``dout`` (:func:`course.cases.arrays`): on a photo's correlated colour channels, with
a loss whose gradient has one sign, "channel 0 used everywhere" is off by only a few percent.
Known wrong answers are named; a wrong ``dx`` or ``dw`` also prints the error of each 2-D slice,
so that "right on channel 0, wrong on the others" can be read at a glance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from course import reference
from course.backward_checks import BACKWARD_TOL, PARTS, as_float64, unpack_gradients
from course.cases import ConvCase, arrays
from course.checks import (
    CheckFailure,
    Misconception,
    call_student,
    compare,
    report,
    scaled_error,
)
from course.forward_checks import FORWARD_TOL

# Tolerances, reused from notebooks 01 and 03 (the same reasoning holds with more terms):
# FORWARD_TOL = 1e-5: an output pixel sums C * KH * KW products (125 in the forum's layer), so
# float32 is within about 1e-6 and may be used; every indexing bug is off by order 1.
# BACKWARD_TOL = 1e-9: an entry of dw sums N * HO * WO products (9216 in the forum's layer); float64
# round-off stays below 1e-13 there, float32 is about 1e-7 and fails (compute gradients in float64,
# as a gradient check needs), and every bug named below is off by more than 1e-2.
AXES = ("N", "F", "HO", "WO")  # the axes of dout, for summed_axes
SUMMED = {"dx": {"F", "HO", "WO"}, "dw": {"N", "HO", "WO"}, "db": {"N", "HO", "WO"}}


# ---------------------------------------------------------------- the forward pass

def _forward_misconceptions(x, w, b, stride, pad) -> list[Misconception]:
    N, C = x.shape[:2]

    def forward(x_=x, w_=w, b_=b, stride_=stride, pad_=pad):
        return lambda: reference.conv2d(x_, w_, b_, stride_, pad_)

    return [
        Misconception("bias per input channel", forward(b_=C * b),
                      "the bias was added once per input channel (C times b[f]): add b[f] once "
                      "to each output pixel, after the sum over channels."),
        Misconception("bias missing", forward(b_=np.zeros_like(b)),
                      "the bias is missing: add b[f] to every pixel of output channel f."),
        Misconception("channel 0 everywhere", forward(x_=x[:, [0] * C]),
                      "every kernel slice w[f, c] was applied to input channel 0: slide w[f, c] "
                      "over x[n, c], the channel with the same index c."),
        Misconception("channel 0 only", forward(x_=x[:, :1], w_=w[:, :1]),
                      "only input channel 0 contributes: out[n, f] sums X[n, c] ⋆ W[f, c] over "
                      "all C channels."),
        Misconception("last channel only", forward(x_=x[:, -1:], w_=w[:, -1:]),
                      "only the last input channel contributes (= instead of += in the loop over "
                      "channels): out[n, f] sums X[n, c] ⋆ W[f, c] over all C channels."),
        Misconception("first example everywhere", forward(x_=x[[0] * N]),
                      "every example's output was computed from x[0]: use x[n] for example n."),
        Misconception("stride ignored", forward(stride_=1),
                      "your output is the stride-1 result: move the window `stride` pixels."),
        Misconception("padding ignored", forward(pad_=0),
                      "your output ignores the padding: pad the two spatial axes of x (not N "
                      "or C) with `pad` zeros on each side."),
    ]


def check_forward(conv2d_forward: Callable, cases: Iterable[ConvCase], bias: bool = False,
                  ) -> None:
    """``conv2d_forward(x, w, b, stride=..., pad=...)`` must match PyTorch on every case.

    Without ``bias`` the bias is all zeros, so only the bias cell grades how it is added.
    """
    passed = []
    for case in cases:
        data = arrays(case, "multi-forward")
        b = data.b if bias else np.zeros(case.F)
        label = case.describe() + (", random b" if bias else ", b = 0")
        got = call_student(conv2d_forward, data.x, data.w, b, stride=case.stride, pad=case.pad,
                           label=label)
        expected = reference.conv2d(data.x, data.w, b, case.stride, case.pad)
        error = compare("the output", got, expected, label, FORWARD_TOL,
                        _forward_misconceptions(data.x, data.w, b, case.stride, case.pad))
        passed.append(f"{label}: out {expected.shape}, relative error {error:.1e}")
    report(passed, f"PyTorch in float64 (relative error <= {FORWARD_TOL:g})")


# ---------------------------------------------------------------- the backward pass

def _backward(dout, x, w, stride, pad):
    return reference.conv2d_backward(dout, x, w, stride, pad)


def _dx_misconceptions(dout, x, w, stride, pad) -> list[Misconception]:
    N, C = x.shape[:2]
    F = w.shape[0]
    sum_over_f = "dX[n, c] = sum over f of full-xcorr(dY[n, f], rot180(W[f, c]))"
    return [
        Misconception("dX from the last filter only",
                      lambda: _backward(dout[:, -1:], x, w[-1:], stride, pad)[0],
                      f"your dx holds the last filter's contribution only: {sum_over_f}. Every "
                      "filter read x[n, c], so each adds its share (+= over f, not =)."),
        Misconception("dX from the first filter only",
                      lambda: _backward(dout[:, :1], x, w[:1], stride, pad)[0],
                      f"your dx holds filter 0's contribution only: {sum_over_f}."),
        Misconception("dX averaged over filters",
                      lambda: _backward(dout, x, w, stride, pad)[0] / F,
                      f"your dx is divided by F: {sum_over_f}, a sum, not a mean."),
        Misconception("dX averaged over the batch",
                      lambda: _backward(dout, x, w, stride, pad)[0] / N,
                      "your dx is divided by N: each example has its own dx[n]; nothing is "
                      "summed over the batch in dx (if the loss is a mean, dout already holds "
                      "the 1/N)."),
        Misconception("dX with kernel slice 0 everywhere",
                      lambda: _backward(dout, x, w[:, [0] * C], stride, pad)[0],
                      "every input channel got the gradient of channel 0: dx[n, c] needs the "
                      "kernel slices W[f, c] of its own channel c."),
        Misconception("dX without the flip",
                      lambda: _backward(dout, x, w[..., ::-1, ::-1], stride, pad)[0],
                      "dX needs each kernel slice rotated by 180 degrees (a full cross-"
                      "correlation of dY[n, f] with rot180(W[f, c])); equally, scatter "
                      "dout[n, f, i, j] * W[f, c] (unrotated) into the window it read."),
    ]


def _dw_misconceptions(dout, x, w, stride, pad) -> list[Misconception]:
    N, C = x.shape[:2]

    def right():
        return _backward(dout, x, w, stride, pad)[1]

    return [
        Misconception("dW with channel 0 everywhere",
                      lambda: _backward(dout, x[:, [0] * C], w, stride, pad)[1],
                      "dw[f, c] used input channel 0 for every c: dW[f, c] = X[c] ⋆ dY[f] "
                      "correlates input channel c (x[n, c]) with the gradient of filter f."),
        Misconception("filters and channels swapped", lambda: right().transpose(1, 0, 2, 3),
                      "your dw has the filter and channel axes swapped: dw has the shape of w, "
                      "(F, C, KH, KW), and dw[f, c] = X[c] ⋆ dY[f] (filter first)."),
        Misconception("dW averaged over the batch", lambda: right() / N,
                      "your dw is divided by N: the weights are shared by every example, so "
                      "dw sums the examples' contributions (a mean loss already put its 1/N "
                      "into dout; dividing again counts it twice)."),
        Misconception("dW from the first example only",
                      lambda: _backward(dout[:1], x[:1], w, stride, pad)[1],
                      "your dw holds example 0's contribution only: dW[f, c] = sum over n of "
                      "X[n, c] ⋆ dY[n, f]."),
        Misconception("dW from the last example only",
                      lambda: _backward(dout[-1:], x[-1:], w, stride, pad)[1],
                      "your dw holds the last example's contribution only (= instead of += in "
                      "the loop over the batch): dW[f, c] = sum over n of X[n, c] ⋆ dY[n, f]."),
        Misconception("dW with dY summed over filters",
                      lambda: np.broadcast_to(
                          _backward(dout.sum(axis=1, keepdims=True), x, w[:1], stride, pad)[1],
                          w.shape),
                      "every filter got the same dw: dw[f] must use dY[f], the gradient of "
                      "filter f's own output, not the sum over filters."),
        Misconception("dW rotated", lambda: right()[..., ::-1, ::-1],
                      "dW needs no flip: your dw is the right one rotated by 180 degrees. "
                      "dW[f, c] = X[c] ⋆ dY[f]; the rotation belongs to dX only."),
    ]


def _db_misconceptions(dout, x, w, stride, pad) -> list[Misconception]:
    N = dout.shape[0]
    one_per_filter = "db has one entry per filter, db[f] = sum of dout[:, f] (axes 0, 2, 3)"
    return [
        Misconception("db averaged over the batch", lambda: dout.sum(axis=(0, 2, 3)) / N,
                      f"your db is divided by N: {one_per_filter}; the bias is shared by the "
                      "batch, so the examples add up (a mean loss put its 1/N into dout)."),
        Misconception("db summed over filters", lambda: dout.sum(axis=(1, 2, 3)),
                      f"you summed over the filters (axis 1): {one_per_filter}."),
        Misconception("db not summed over the batch", lambda: dout.sum(axis=(2, 3)),
                      f"your db still has the batch axis: {one_per_filter}."),
        Misconception("db of example 0 only", lambda: dout[0].sum(axis=(1, 2)),
                      f"your db holds example 0 only: {one_per_filter}."),
        Misconception("db as one number", lambda: dout.sum(),
                      f"there are F biases, one per filter: {one_per_filter}."),
        Misconception("db as a mean", lambda: dout.mean(axis=(0, 2, 3)),
                      f"db is a sum, not a mean: {one_per_filter}."),
    ]


MISCONCEPTIONS = {"dx": _dx_misconceptions, "dw": _dw_misconceptions, "db": _db_misconceptions}
SLICE_AXES = {"dx": ("n", "c"), "dw": ("f", "c")}


def slice_errors(got: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Error of each 2-D slice ``[a, b]`` of two 4-D arrays, scaled by ``max |expected|``."""
    scale = max(float(np.abs(expected).max(initial=0.0)), 1e-300)
    return np.abs(got - expected).max(axis=(2, 3)) / scale


def print_slice_errors(part: str, got: np.ndarray, expected: np.ndarray, limit: int = 6) -> None:
    """A text heatmap: the relative error of each ``dw[f, c]`` or ``dx[n, c]`` slice."""
    rows, cols = SLICE_AXES[part]
    errors = slice_errors(got, expected)[:limit, :limit]
    print(f"Relative error of each {part}[{rows}, {cols}] slice "
          f"(rows {rows}, columns {cols}; 0 is right):")
    print("       " + "".join(f"{cols}={j:<6d}" for j in range(errors.shape[1])))
    for i, row in enumerate(errors):
        print(f"  {rows}={i:<3d}" + "".join(f"{e:<8.2f}" for e in row))


def check_backward_part(part: str, got, dout: np.ndarray, x: np.ndarray, w: np.ndarray,
                        stride: int, pad: int, label: str) -> float:
    """Compare one of ``dx``, ``dw``, ``db`` with autograd; explain known wrong answers."""
    expected = _backward(dout, x, w, stride, pad)[PARTS.index(part)]
    got = as_float64(part, got, label)
    if (part in SLICE_AXES and got.shape == expected.shape
            and scaled_error(got, expected) > BACKWARD_TOL):
        print_slice_errors(part, got, expected)
    return compare(part, got, expected, label, BACKWARD_TOL,
                   MISCONCEPTIONS[part](dout, x, w, stride, pad))


def check_backward(conv2d_backward: Callable, cases: Iterable[ConvCase],
                   parts: Iterable[str] = PARTS) -> None:
    """``conv2d_backward(dout, x, w, stride=..., pad=...)`` must give autograd's ``parts``.

    Only the listed parts of the returned ``(dx, dw, db)`` are graded, so that a test cell's points
    depend on the ideas it names. One call per case, with a random ``dout``.
    """
    parts = tuple(parts)
    if not set(parts) <= set(PARTS):
        raise ValueError(f"parts must be among {PARTS}, got {parts}")
    passed = []
    for case in cases:
        data = arrays(case, "multi-backward")
        label = case.describe()
        result = call_student(conv2d_backward, data.dout, data.x, data.w, stride=case.stride,
                              pad=case.pad, label=label)
        got = unpack_gradients(result, conv2d_backward, label)
        errors = []
        for part in parts:
            error = check_backward_part(part, got[part], data.dout, data.x, data.w, case.stride,
                                        case.pad, label)
            errors.append(f"{part} {error:.1e}")
        passed.append(f"{label}, random dout: relative error " + ", ".join(errors))
    report(passed, f"PyTorch's autograd in {', '.join(parts)} (float64, relative error <= "
                   f"{BACKWARD_TOL:g})")


# ---------------------------------------------------------------- the check of understanding

def true_shapes(x_shape: tuple, w_shape: tuple, stride: int = 1, pad: int = 0) -> dict:
    """Shapes of ``out``, ``dx``, ``dw``, ``db``, measured by running PyTorch on zeros."""
    dout_shape = reference.conv2d(np.zeros(x_shape), np.zeros(w_shape), None, stride, pad).shape
    dx, dw, db = reference.conv2d_backward(np.zeros(dout_shape), np.zeros(x_shape),
                                           np.zeros(w_shape), stride, pad)
    return {"out": dout_shape, "dx": dx.shape, "dw": dw.shape, "db": db.shape}


def _as_shape(value) -> tuple | None:
    if not isinstance(value, (tuple, list, np.ndarray)) or np.ndim(value) != 1:
        return None
    shape = tuple(value)
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape):
        return None
    return tuple(int(n) for n in shape)


SHAPE_HINTS = {
    "out": "the output has one channel per filter: (N, F, HO, WO), with HO and WO from the "
           "output-size formula of notebook 01.",
    "dx": "a gradient has the shape of what it is the gradient of: dx has the shape of x.",
    "dw": "dw has the shape of w, (F, C, KH, KW): filter first, then input channel.",
    "db": "one bias per filter: db has shape (F,), a tuple with one entry.",
}


def check_gradient_shapes(gradient_shapes: Callable, cases: Iterable[ConvCase]) -> None:
    """``gradient_shapes(x_shape, w_shape, stride, pad)`` -> ``(out, dx, dw, db)`` shapes."""
    passed = []
    names = ("out", "dx", "dw", "db")
    for case in cases:
        x_shape, w_shape = (case.N, case.C, case.H, case.W), (case.F, case.C, case.KH, case.KW)
        call = f"gradient_shapes({x_shape}, {w_shape}, stride={case.stride}, pad={case.pad})"
        got = call_student(gradient_shapes, x_shape, w_shape, stride=case.stride, pad=case.pad,
                           label=call)
        if not isinstance(got, (tuple, list)) or len(got) != 4:
            raise CheckFailure(f"{call} should return a tuple of four shapes (out, dx, dw, db), "
                               f"got {got!r}.")
        truth = true_shapes(x_shape, w_shape, case.stride, case.pad)
        for name, value in zip(names, got, strict=True):
            shape = _as_shape(value)
            if shape is None:
                raise CheckFailure(f"{call}: the shape of {name} should be a tuple of ints, got "
                                   f"{value!r}.")
            if shape != truth[name]:
                raise CheckFailure(f"{call}: the shape of {name} is wrong, got {shape}. "
                                   f"Hint: {SHAPE_HINTS[name]}")
        passed.append(f"{call}: out {truth['out']}, dx {truth['dx']}, dw {truth['dw']}, "
                      f"db {truth['db']}")
    report(passed, "the shapes PyTorch gives")


AXIS_HINTS = {
    ("dx", "N", "extra"): "dx keeps the batch axis: each example has its own input, so its own "
                          "input gradient.",
    ("dx", "F", "missing"): "every filter reads x[n, c], so dx[n, c] adds up what all F filters "
                            "send back.",
    ("dw", "N", "missing"): "the weights are shared by every example of the batch: their "
                            "contributions add up.",
    ("dw", "F", "extra"): "each filter has its own weights, so dw[f] keeps its filter axis.",
    ("db", "N", "missing"): "the bias is shared by every example of the batch: their "
                            "contributions add up.",
    ("db", "F", "extra"): "there is one bias per filter: db keeps the filter axis, shape (F,).",
}


def axis_names(value) -> tuple | None:
    """Axis names or indices of dout as upper-case names; None unless a tuple or list of them."""
    if isinstance(value, (str, int, np.integer)):
        value = (value,)
    if not isinstance(value, (tuple, list)):  # a set or dict cannot cross to the re-check either
        return None
    names = []
    for item in value:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool) \
                and 0 <= item < len(AXES):
            names.append(AXES[int(item)])
        elif isinstance(item, str) and item.strip().upper() in AXES:
            names.append(item.strip().upper())
        else:
            return None
    return tuple(names)


def _readable_axes(call: str, got) -> tuple:
    names = axis_names(got)
    if names is None:
        raise CheckFailure(f"{call} returned {got!r}: return a tuple of axis names of dout "
                           f"among {AXES} (or their indices 0 to 3), e.g. ('N', 'HO').")
    if len(set(names)) != len(names):
        raise CheckFailure(f"{call} returned {got!r}: name each axis at most once.")
    return names


def check_summed_axes_readable(summed_axes: Callable, gradients: Iterable[str] = PARTS) -> None:
    """Only the form of the answers: a tuple of distinct axis names of dout, for each gradient."""
    for gradient in gradients:
        call = f"summed_axes({gradient!r})"
        names = _readable_axes(call, call_student(summed_axes, gradient, label=call))
        print(f"  ok  {call} returns axis names {names} (graded by hidden tests)")


def check_summed_axes(summed_axes: Callable, gradients: Iterable[str] = PARTS) -> None:
    """``summed_axes(gradient)``: the axes of ``dout (N, F, HO, WO)`` each gradient sums over."""
    passed = []
    for gradient in gradients:
        call = f"summed_axes({gradient!r})"
        got = call_student(summed_axes, gradient, label=call)
        names = _readable_axes(call, got)
        truth = SUMMED[gradient]
        if set(names) != truth:
            hints = [text for (g, axis, kind), text in AXIS_HINTS.items() if g == gradient and (
                (kind == "extra" and axis in names) or (kind == "missing" and axis not in names))]
            if {"HO", "WO"} - set(names):
                hints.append("every weight, bias and input pixel is used at many output "
                             "positions: the positions (HO, WO) are summed.")
            raise CheckFailure(f"{call} returned {tuple(names)}, which is not right. "
                               + " ".join(hints))
        passed.append(f"{call} = {tuple(sorted(names, key=AXES.index))}")
    report(passed, "the sums in the formulas")
