"""Graded checks of the vectorised multi-channel backward pass (notebook 06).

``conv2d_backward_fast(dout, x, w, stride=1, pad=0)`` returns ``(dx, dw, db)`` for ``dout
(N, F, HO, WO)``, ``x (N, C, H, W)`` and ``w (F, C, KH, KW)``: ``dx (N, C, H, W)``, ``dw (F, C,
KH, KW)``, ``db (F,)``. :func:`check_fast_backward` grades all three against PyTorch's autograd in
float64 (:mod:`course.reference`) with a random upstream gradient; :func:`check_speed` grades the
speed as a ratio against :func:`loop_backward`, the course's own loop, timed in the same cell.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import numpy as np
import torch

from course import reference
from course.backward_checks import BACKWARD_TOL, PARTS, as_float64, unpack_gradients
from course.cases import ConvCase, arrays
from course.checks import (
    Misconception,
    TooSlow,
    call_student,
    compare,
    report,
)

# A vectorised backward must be at least this many times faster than loop_backward.
REQUIRED_SPEEDUP = 20.0


def loop_backward(dout: np.ndarray, x: np.ndarray, w: np.ndarray,
                  stride: int = 1, pad: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The speed yardstick: the backward pass one output pixel at a time, NCHW, float64.

    This is the cost of "the loop version": one Python iteration per output pixel ``(i, j)``, with
    the work of that pixel (all images, channels and filters at once) done as two small matrix
    products. It is deliberately written with PyTorch tensors, not NumPy: it is the grader's
    stopwatch, not a model answer for notebook 05 (whose exercise is this loop in NumPy). Its cost
    per pixel is a few times that of the leanest NumPy pixel loop, so a loop-based submission
    lands far below :data:`REQUIRED_SPEEDUP` while an im2col one lands far above it.
    """
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    _, _, HO, WO = dout.shape
    x_pad = torch.from_numpy(np.pad(np.asarray(x, dtype=np.float64),
                                    ((0, 0), (0, 0), (pad, pad), (pad, pad))))
    w_mat = torch.from_numpy(np.asarray(w, dtype=np.float64)).reshape(F, C * KH * KW)
    dy = torch.from_numpy(np.asarray(dout, dtype=np.float64))
    dx_pad = torch.zeros_like(x_pad)
    dw_mat = torch.zeros_like(w_mat)
    for i in range(HO):
        for j in range(WO):
            rows, cols = slice(i * stride, i * stride + KH), slice(j * stride, j * stride + KW)
            g = dy[:, :, i, j]                                   # (N, F)
            dw_mat += g.T @ x_pad[:, :, rows, cols].reshape(N, -1)
            dx_pad[:, :, rows, cols] += (g @ w_mat).reshape(N, C, KH, KW)
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W].numpy().copy()
    return dx, dw_mat.reshape(F, C, KH, KW).numpy(), dy.sum(dim=(0, 2, 3)).numpy()


def best_time(fn: Callable[[], object], repeats: int = 3) -> float:
    """The shortest of ``repeats`` wall-clock timings of ``fn()``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _misconceptions(part: str, dout, x, w, stride, pad) -> list[Misconception]:
    N = x.shape[0]

    def truth(d=dout, x_=x, w_=w):
        return reference.conv2d_backward(d, x_, w_, stride, pad)

    if part == "dx":
        return [
            Misconception("dX without the flip", lambda: truth(w_=w[:, :, ::-1, ::-1])[0],
                          "dX needs the kernel rotated by 180 degrees in the full "
                          "cross-correlation (or: col2im scatters dout * w upright)."),
            Misconception("dX averaged over the batch", lambda: truth()[0] / N,
                          "each image's dx is its own: do not divide by the batch size."),
        ]
    if part == "dw":
        return [
            Misconception("dW rotated", lambda: truth()[1][:, :, ::-1, ::-1],
                          "dW needs no flip: dw[f, c] = x[c] ⋆ dout[f], summed over the batch."),
            Misconception("dW with filters and channels swapped",
                          lambda: truth()[1].transpose(1, 0, 2, 3),
                          "dw has the shape of w, (F, C, KH, KW): filters first, then channels."),
            Misconception("dW averaged over the batch", lambda: truth()[1] / N,
                          "dw is the sum over the batch, not the mean: every image adds its "
                          "contribution."),
        ]
    return [
        Misconception("db not summed over the batch", lambda: dout.sum(axis=(2, 3)),
                      "db has one entry per filter, shape (F,): sum dout over the batch and "
                      "both spatial axes, dout.sum(axis=(0, 2, 3))."),
        Misconception("db averaged", lambda: dout.mean(axis=(0, 2, 3)),
                      "db is the sum of dout over (N, HO, WO), not its mean."),
    ]


def _check_result(fn: Callable, result, dout, x, w, stride: int, pad: int,
                  label: str) -> dict[str, float]:
    parts = unpack_gradients(result, fn, label)
    truth = reference.conv2d_backward(dout, x, w, stride, pad)
    errors = {}
    for part, expected in zip(PARTS, truth, strict=True):
        got = as_float64(part, parts[part], label)
        errors[part] = compare(part, got, np.asarray(expected, dtype=np.float64), label,
                               BACKWARD_TOL, _misconceptions(part, dout, x, w, stride, pad))
    return errors


def check_fast_backward(conv2d_backward_fast: Callable, cases: Iterable[ConvCase]) -> None:
    """``conv2d_backward_fast(dout, x, w, stride=..., pad=...)`` must match autograd on every case.

    All three of ``(dx, dw, db)`` are graded, in float64, with a random ``dout``; arrays are the
    seeded random ones of :func:`course.cases.arrays`.
    """
    passed = []
    for case in cases:
        data = arrays(case, "fast-backward")
        label = case.describe()
        result = call_student(conv2d_backward_fast, data.dout, data.x, data.w, label=label,
                              stride=case.stride, pad=case.pad)
        errors = _check_result(conv2d_backward_fast, result, data.dout, data.x, data.w,
                               case.stride, case.pad, label)
        worst = max(errors.values())
        passed.append(f"{label}, random dout: dx, dw, db relative error <= {worst:.1e}")
    report(passed, f"PyTorch's autograd (float64, relative error <= {BACKWARD_TOL:g})")


def check_speed(conv2d_backward_fast: Callable, case: ConvCase,
                required: float = REQUIRED_SPEEDUP, repeats: int = 3) -> float:
    """The student's function must be correct and ``required`` times faster than the yardstick.

    Both are timed in this call, on the same arrays, alternately, best of ``repeats`` each: the
    ratio does not depend on how fast the machine is. Each round draws new arrays and checks the
    timed result, so a function that remembers earlier answers gains nothing. A clearly slow
    function (one call above 4 times its budget) is stopped after one round, so a loop costs this
    check little time. The first call, which is checked against autograd, is not timed (it may
    pay for a warm-up). Returns the measured speed-up.
    """
    kwargs = {"stride": case.stride, "pad": case.pad}
    label = case.describe()
    data = arrays(case, "fast-speed")
    args = (data.dout, data.x, data.w)
    result = call_student(conv2d_backward_fast, *args, label=label, **kwargs)  # also a warm-up
    _check_result(conv2d_backward_fast, result, *args, case.stride, case.pad, label)
    best_loop = best_yours = float("inf")
    for round_ in range(repeats):
        data = arrays(case, f"fast-speed-{round_}")
        args = (data.dout, data.x, data.w)
        best_loop = min(best_loop, best_time(lambda a=args: loop_backward(*a, **kwargs), 1))
        start = time.perf_counter()
        result = call_student(conv2d_backward_fast, *args, label=label, **kwargs)
        best_yours = min(best_yours, time.perf_counter() - start)
        _check_result(conv2d_backward_fast, result, *args, case.stride, case.pad, label)
        if best_yours > 4 * best_loop / required:
            break  # far too slow: more repeats will not change the verdict
    ratio = best_loop / best_yours
    HO, WO = case.out_hw
    print(f"  on {label} ({HO * WO} output pixels), best of up to {repeats} runs each:")
    print(f"  the course's loop over output pixels: {best_loop * 1e3:8.2f} ms")
    print(f"  your conv2d_backward_fast:            {best_yours * 1e3:8.2f} ms")
    if ratio < required:
        raise TooSlow(
            f"conv2d_backward_fast is {ratio:.1f} times as fast as the loop over output pixels; "
            f"the test asks for at least {required:g} times. Your results are right, so what is "
            "left is speed: a Python loop over output pixels (or over images, filters or "
            "channels) costs microseconds per iteration. Build the windows of x at once "
            "(sliding_window_view, im2col) and let one einsum or matrix product do the sums; "
            "col2im needs a loop over the KH*KW kernel offsets at most.")
    print(f"Passed: {ratio:.0f} times as fast as the loop (at least {required:g} required), "
          "and right.")
    return ratio
