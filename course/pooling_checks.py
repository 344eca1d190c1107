"""Graded checks of notebook 08's pooling layers: ``maxpool_forward``, ``maxpool_backward`` and
``avgpool_backward``.

``maxpool_forward(x, window, stride) -> out``, ``maxpool_backward(dout, x, window, stride) ->
dx`` and ``avgpool_backward(dout, x_shape, window, stride) -> dx``, NCHW, ``window = (KH, KW)``.
Each backward is compared with PyTorch's autograd in float64 (:mod:`course.pooling`) for a random
upstream gradient, then put through the adjoint identity ``<pool(x), dout> = <x, dx>``, which
needs no PyTorch: average-pool is linear, and max-pool is ``x -> J x`` with ``J`` the 0/1 routing
matrix of ``x`` itself (a function of degree one), so both sides are ``<J x, dout>``. A wrong
answer that matches a known misconception (a tie routed to every maximum, ``=`` instead of ``+=``
for overlapping windows, the stride ignored, an average not divided by the window, leftover
rows dropped ...) is named in the failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F

from course import pooling
from course.backward_checks import BACKWARD_TOL, as_float64
from course.checks import CheckFailure, Misconception, call_student, compare, report
from course.pooling import PoolCase, pool_arrays

# The forward pass picks or averages entries: a right answer is exact up to the round-off of a
# mean of a few numbers (about 1e-16); every wrong window is off by order 1.
FORWARD_TOL = 1e-12
# The adjoint identity <pool(x), dout> = <x, dx> holds to round-off; its error is measured
# against |x| |dx| (Cauchy-Schwarz), so that a sum that cancels to near zero cannot inflate it.
ADJOINT_TOL = 1e-12


def _needs(condition: bool) -> None:
    """A wrong formula that only differs from the right one (or only exists) on some cases."""
    if not condition:
        raise ValueError("this wrong answer is not defined, or not different, here")


def first_max(win: torch.Tensor) -> torch.Tensor:
    """One-hot of the first maximum of each ``(KH, KW)`` window in row-major order (PyTorch's)."""
    flat = win.flatten(2)
    return torch.zeros_like(flat).scatter_(2, flat.argmax(dim=2, keepdim=True), 1.0).reshape(
        win.shape)


def _last_max(win: torch.Tensor) -> torch.Tensor:
    return first_max(win.flip(2, 3)).flip(2, 3)


def _every_max(win: torch.Tensor) -> torch.Tensor:
    return (win == win.amax(dim=(2, 3), keepdim=True)).to(win.dtype)


def route(dout: np.ndarray, x: np.ndarray, window: tuple[int, int], steps: tuple[int, int],
          weights: Callable[[torch.Tensor], torch.Tensor], assign: str = "") -> np.ndarray:
    """``dx``: each ``dout[n, c, i, j] * weights(window)`` added into the window at
    ``(i * steps[0], j * steps[1])``; ``assign`` "window" or "winner" overwrites instead.

    Written with PyTorch tensors on purpose: it computes the grader's known wrong answers (and,
    with :func:`first_max`, the right one), not a model answer for the NumPy exercises.
    """
    (KH, KW), (sh, sw) = window, steps
    x, dout = torch.tensor(x, dtype=torch.float64), torch.tensor(dout, dtype=torch.float64)
    dx = torch.zeros_like(x)
    for i, j in np.ndindex(*dout.shape[2:]):
        rows, cols = slice(i * sh, i * sh + KH), slice(j * sw, j * sw + KW)
        win = x[:, :, rows, cols]
        if win.shape[2:] != (KH, KW):
            raise ValueError("a window runs past the input")
        mask = weights(win)
        part = mask * dout[:, :, i, j, None, None]
        if assign == "window":
            dx[:, :, rows, cols] = part
        elif assign == "winner":
            dx[:, :, rows, cols] = torch.where(mask > 0, part, dx[:, :, rows, cols])
        else:
            dx[:, :, rows, cols] += part
    return dx.numpy()


def _average(window: tuple[int, int]) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda win: torch.full_like(win, 1.0 / (window[0] * window[1]))


def _ones(win: torch.Tensor) -> torch.Tensor:
    return torch.ones_like(win)


LEFTOVER = ("your dx is missing the last rows or columns of x: when the stride does not divide "
            "H - KH, the last (H - KH) % stride rows are read by no window. Their gradient is "
            "exactly 0, but dx has the shape of x: allocate dx = np.zeros(x.shape) and route "
            "into it.")
OVERWRITE = ("windows overlap here (stride < window), and each one overwrote what the "
             "previous ones had put into dx (= instead of +=). An entry read by several windows "
             "collects the gradient of every window it belongs to: dx[...] += ...")
STRIDE = ("stride ignored in the backward pass: output (i, j) read the window whose top-left "
          "corner is at (i*stride, j*stride), so its gradient goes back there, not to (i, j).")
STEP_IS_WINDOW = ("you moved the window by its own size (KH rows, KW columns) instead of by the "
                  "stride: right only when stride = window. With stride < window the windows "
                  "overlap; output (i, j) read rows i*stride to i*stride + KH - 1 (a reshape "
                  "into (HO, KH, WO, KW) blocks assumes stride = window and sizes that divide).")


def _routing_misconceptions(dout, x, window, stride, weights) -> list[Misconception]:
    """Wrong answers common to both backward passes: the windows in the wrong places."""
    (KH, KW), (HO, WO) = window, dout.shape[2:]
    H, W = x.shape[2:]

    def truth():
        return route(dout, x, window, (stride, stride), weights)

    def stride_ignored():
        _needs(stride > 1)
        return route(dout, x, window, (1, 1), weights)

    def step_is_window():
        _needs((KH, KW) != (stride, stride))
        return route(dout, x, window, window, weights)

    def overwritten():
        _needs(stride < max(KH, KW))
        return route(dout, x, window, (stride, stride), weights, assign="window")

    def last_row_read():
        _needs((H - KH) % stride or (W - KW) % stride)
        return truth()[:, :, :(HO - 1) * stride + KH, :(WO - 1) * stride + KW]

    def whole_blocks():
        _needs(HO * stride != H or WO * stride != W)
        return truth()[:, :, :HO * stride, :WO * stride]

    return [
        Misconception("stride ignored", stride_ignored, STRIDE),
        Misconception("moved by the window, not the stride", step_is_window, STEP_IS_WINDOW),
        Misconception("overwritten (= instead of +=)", overwritten, OVERWRITE),
        Misconception("leftover rows dropped", last_row_read, LEFTOVER),
        Misconception("cropped to whole blocks", whole_blocks, LEFTOVER),
    ]


def maxpool_misconceptions(dout, x, window, stride) -> list[Misconception]:
    """Known wrong ``dx`` of max-pool, with what to tell their authors."""
    steps = (stride, stride)
    return [
        Misconception("a tie routed to every maximum", lambda: route(dout, x, window, steps,
                                                                     _every_max),
                      "where a window holds its maximum more than once, you sent the gradient "
                      "to every copy: the window's output then moves by dout for each copy "
                      "that moves, which no function does. PyTorch gives it to ONE entry, the "
                      "first maximum in row-major order (what np.argmax of the flattened "
                      "window returns)."),
        Misconception("a tie routed to the last maximum", lambda: route(dout, x, window, steps,
                                                                        _last_max),
                      "where a window holds its maximum more than once, you sent the gradient "
                      "to the LAST copy (a scan with >=, or argmax of the reversed window). "
                      "PyTorch, which this course grades against, sends it to the FIRST maximum "
                      "in row-major order: np.argmax of the flattened window, or a scan with >."),
        Misconception("overwritten winner", lambda: route(dout, x, window, steps, first_max,
                                                          assign="winner"),
                      "an entry that is the maximum of several overlapping windows got the "
                      "gradient of the last of them only (dx[...] = dout[...]): it collects "
                      "all of them, dx[...] += dout[...]."),
        Misconception("the whole window gets dout", lambda: route(dout, x, window, steps,
                                                                  _ones),
                      "every entry of a window got dout: only the maximum moved the output, so "
                      "only the maximum gets the gradient (the others get 0)."),
        Misconception("an average-pool's gradient", lambda: route(dout, x, window, steps,
                                                                  _average(window)),
                      "this is average-pool's gradient (dout / (KH*KW) to every entry): "
                      "max-pool sends all of dout to the window's maximum."),
        *_routing_misconceptions(dout, x, window, stride, first_max),
    ]


def avgpool_misconceptions(dout, x, window, stride) -> list[Misconception]:
    """Known wrong ``dx`` of average-pool, with what to tell their authors."""
    steps = (stride, stride)
    KH, KW = window
    return [
        Misconception("not divided by the window", lambda: route(dout, x, window, steps, _ones),
                      f"dx is {KH * KW} times too large: out[n, c, i, j] is the MEAN of the "
                      f"KH*KW = {KH * KW} entries of its window, so each entry gets "
                      "dout[n, c, i, j] / (KH*KW), not dout[n, c, i, j]."),
        Misconception("a max-pool's gradient", lambda: route(dout, x, window, steps, first_max),
                      "this is max-pool's gradient (all of dout to one entry): an average "
                      "depends on every entry of the window, equally."),
        *_routing_misconceptions(dout, x, window, stride, _average(window)),
    ]


def forward_misconceptions(x, window, stride) -> list[Misconception]:
    """Known wrong outputs of max-pool's forward pass."""
    KH, KW = window

    def torch_pool(kind="max", win=window, step=stride, ceil=False):
        with torch.no_grad():
            pool = F.max_pool2d if kind == "max" else F.avg_pool2d
            return pool(torch.from_numpy(x), win, step, ceil_mode=ceil).numpy()

    def swapped():
        _needs(KH != KW)
        return torch_pool(win=(KW, KH))

    def step_is_window():
        _needs((KH, KW) != (stride, stride))
        return torch_pool(step=window)

    return [
        Misconception("rounded up", lambda: torch_pool(ceil=True),
                      "your output has an extra row or column: a last window that runs past "
                      "the edge is not taken. HO = (H - KH) // stride + 1 (rounded down)."),
        Misconception("stride ignored", lambda: torch_pool(step=1),
                      "stride ignored: window (i, j) starts at row i*stride, column j*stride."),
        Misconception("moved by the window", step_is_window, STEP_IS_WINDOW),
        Misconception("window axes swapped", swapped,
                      "height and width of the window mixed up: KH rows, KW columns."),
        Misconception("average instead of maximum", lambda: torch_pool("avg"),
                      "you averaged each window: max-pool keeps its largest entry."),
    ]


def check_maxpool_forward(maxpool_forward: Callable, cases: Iterable[PoolCase]) -> None:
    """``maxpool_forward(x, window, stride)`` must equal ``F.max_pool2d`` on every case."""
    passed = []
    for case in cases:
        x, _ = pool_arrays(case, "maxpool-forward")
        label = case.describe()
        got = call_student(maxpool_forward, x, case.window, case.stride, label=label)
        expected = pooling.pool_forward("max", x, case.window, case.stride)
        compare("out", got, expected, label, FORWARD_TOL,
                forward_misconceptions(x, case.window, case.stride))
        passed.append(f"{label}: out {expected.shape} equals F.max_pool2d")
    report(passed, f"PyTorch's max_pool2d (float64, relative error <= {FORWARD_TOL:g})")


def _check_backward(kind: str, fn: Callable, cases: Iterable[PoolCase], first_input) -> None:
    misconceptions = {"max": maxpool_misconceptions, "avg": avgpool_misconceptions}[kind]
    passed = []
    for case in cases:
        x, dout = pool_arrays(case, f"{kind}pool-backward")
        label = case.describe()
        got = call_student(fn, dout, first_input(x), case.window, case.stride, label=label)
        got = as_float64("dx", got, label)
        expected = pooling.pool_backward(kind, dout, x, case.window, case.stride)
        error = compare("dx", got, expected, label, BACKWARD_TOL,
                        misconceptions(dout, x, case.window, case.stride))
        outer = float(np.vdot(pooling.pool_forward(kind, x, case.window, case.stride), dout))
        inner = float(np.vdot(x, got))
        gap = abs(outer - inner) / max(float(np.linalg.norm(x) * np.linalg.norm(got)), 1e-300)
        if gap > ADJOINT_TOL:
            raise CheckFailure(f"the adjoint identity fails on {label}: <pool(x), dout> = "
                               f"{outer:.15g} but <x, dx> = {inner:.15g}.")
        passed.append(f"{label}, random dout: relative error {error:.0e}; adjoint "
                      f"<pool(x), dout> = <x, dx> = {inner:.6f}")
    report(passed, f"PyTorch's autograd of {kind}_pool2d (float64, relative error <= "
                   f"{BACKWARD_TOL:g}) and the adjoint identity")


def check_maxpool_backward(maxpool_backward: Callable, cases: Iterable[PoolCase]) -> None:
    """``maxpool_backward(dout, x, window, stride)``: autograd's ``dx``, ties routed as PyTorch
    routes them (to the first maximum of the window in row-major order)."""
    _check_backward("max", maxpool_backward, cases, lambda x: x)


def check_avgpool_backward(avgpool_backward: Callable, cases: Iterable[PoolCase]) -> None:
    """``avgpool_backward(dout, x_shape, window, stride)``: autograd's ``dx``."""
    _check_backward("avg", avgpool_backward, cases, lambda x: x.shape)
