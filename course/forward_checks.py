"""Graded checks of notebook 01: the output size and the single-channel forward pass."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F

from course import reference
from course.cases import ConvCase, arrays
from course.checks import CheckFailure, Misconception, call_student, compare, report

# Forward passes may be computed in float32: a sum of at most a few dozen products carries a
# relative rounding error below 1e-6, while every indexing bug gives an error of order 1.
FORWARD_TOL = 1e-5


def _torch_output_length(n: int, k: int, stride: int, pad: int) -> int:
    """Output length measured by running PyTorch's conv1d on zeros (no formula of ours)."""
    out = F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=stride, padding=pad)
    return out.shape[-1]


def check_output_size(conv_output_size: Callable,
                      rows: Iterable[tuple[int, int, int, int]]) -> None:
    """``conv_output_size(n, k, stride, pad)`` must equal PyTorch's output length, as an ``int``."""
    passed = []
    for n, k, stride, pad in rows:
        call = f"conv_output_size({n}, {k}, stride={stride}, pad={pad})"
        got = call_student(conv_output_size, n, k, stride=stride, pad=pad, label=call)
        expected = _torch_output_length(n, k, stride, pad)
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
            raise CheckFailure(f"{call} returned {got!r} ({type(got).__name__}); an output size "
                               "is a whole number: return an int (use // for the division).")
        if got != expected:
            hints = [
                ((n + 2 * pad - k) // stride, "the +1 is missing (a window fits at position 0)."),
                (-(-(n + 2 * pad - k) // stride) + 1, "you rounded up; a window that would run "
                 "past the padded edge is not computed, so round down."),
                ((n + pad - k) // stride + 1, "padding is added on both sides: use 2 * pad."),
            ]
            hint = next((text for value, text in hints if value == got), "")
            raise CheckFailure(f"{call} returned {got}, expected {expected}. {hint}")
        passed.append(f"{call} = {got}")
    report(passed, "PyTorch's output length")


def _single_forward_misconceptions(x, w, b, stride, pad) -> list[Misconception]:
    def forward(**changes):
        args = {"x": x, "w": w, "b": b, "stride": stride, "pad": pad} | changes
        return lambda: reference.conv2d_single(**args)

    def dropped(rows: slice, cols: slice):
        return lambda: reference.conv2d_single(x, w, b, stride, pad)[rows, cols]

    everything = slice(None)
    return [
        Misconception("convolution", forward(w=w[::-1, ::-1]),
                      "your output is a true convolution (kernel flipped by 180 degrees). "
                      "Deep-learning conv layers compute cross-correlation: slide w unflipped."),
        Misconception("stride ignored", forward(stride=1),
                      "your output is the stride-1 result: move the window `stride` pixels."),
        Misconception("padding ignored", forward(pad=0),
                      "your output ignores the padding: add `pad` rows and columns of zeros "
                      "on every side before sliding the window."),
        Misconception("bias ignored", forward(b=0.0),
                      "the bias b is missing: add it to every output pixel."),
        Misconception("last row dropped", dropped(slice(None, -1), everything),
                      "the last row of windows is missing (an off-by-one in the output height)."),
        Misconception("last column dropped", dropped(everything, slice(None, -1)),
                      "the last column of windows is missing (an off-by-one in the output "
                      "width)."),
    ]


def check_single_forward(conv2d_single_forward: Callable, cases: Iterable[ConvCase],
                         bias: bool = False) -> None:
    """``conv2d_single_forward(x, w[, b], stride, pad)`` must match PyTorch on every case.

    Without ``bias`` the function is called without ``b`` (its default must be 0), so only the
    bias cell grades the bias.
    """
    passed = []
    for case in cases:
        data = arrays(case, "single-forward")
        x, w = data.x[0, 0], data.w[0, 0]
        b = float(data.b[0]) if bias else 0.0
        label = case.describe(single=True) + (f", b = {b:.3f}" if bias else "")
        kwargs = {"b": b} if bias else {}
        got = call_student(conv2d_single_forward, x, w, stride=case.stride, pad=case.pad,
                           label=label, **kwargs)
        expected = reference.conv2d_single(x, w, b, case.stride, case.pad)
        error = compare("the output", got, expected, label, FORWARD_TOL,
                        _single_forward_misconceptions(x, w, b, case.stride, case.pad))
        passed.append(f"{label}: relative error {error:.1e}")
    report(passed, f"PyTorch in float64 (relative error <= {FORWARD_TOL:g})")


def single_forward_bad_inputs() -> dict[str, tuple[tuple, dict]]:
    """Invalid calls of ``conv2d_single_forward`` that must raise ``ValueError``."""
    x, w = np.ones((5, 6)), np.ones((3, 3))
    return {
        "x with 3 dimensions": ((np.ones((1, 5, 6)), w), {}),
        "w with 1 dimension": ((x, np.ones(3)), {}),
        "kernel taller than the input": ((x, np.ones((6, 2))), {}),
        "kernel wider than the padded input": ((x, np.ones((2, 9))), {"pad": 1}),
        "stride 0": ((x, w), {"stride": 0}),
        "negative padding": ((x, w), {"pad": -1}),
    }
