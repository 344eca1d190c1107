"""Notebook 05's quiz: shapes and parameter counts (stride, padding, dilation, groups), the
correlations dW needs, and error maps to match with the bug that made them.

Every truth comes from PyTorch (``nn.Conv2d``, ``F.conv2d``) or from a buggy backward pass
computed here; the rows of each question are data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course import reference
from course.checks import CheckFailure, call_student, report
from course.multichannel_plots import Panel

# (x_shape, w_shape, stride, pad, dilation): w_shape is (F, C / groups, KH, KW)
SHAPES = {
    "visible": [((1, 5, 100, 100), (10, 5, 5, 5), 1, 0, 2)],
    "hidden": [((1, 5, 100, 100), (10, 5, 5, 5), 1, 0, 2), ((2, 3, 9, 11), (4, 3, 3, 2), 2, 1, 2),
               ((3, 4, 10, 7), (6, 2, 3, 3), 1, 1, 1), ((2, 6, 12, 12), (6, 1, 3, 3), 3, 2, 3)],
}
# (C, F, KH, KW, groups, bias)
COUNTS = {
    "visible": [(5, 10, 5, 5, 1, True)],
    "hidden": [(5, 10, 5, 5, 1, True), (3, 16, 3, 3, 1, False), (8, 4, 3, 3, 2, True),
               (6, 6, 5, 5, 6, True), (4, 8, 1, 1, 4, False)],
}
# (x_shape, w_shape)
CORRELATIONS = {
    "visible": [((2, 3, 8, 8), (4, 3, 3, 3))],
    "hidden": [((2, 3, 8, 8), (4, 3, 3, 3)), ((1, 5, 100, 100), (10, 5, 5, 5)),
               ((8, 16, 32, 32), (32, 16, 3, 3))],
}
BUGS = {
    "channel0": "dW reads channel 0 of x for every channel c",
    "batch_mean": "dW averaged over the batch instead of summed",
    "overwrite": "dX scattered with = instead of +=, so overlapping windows overwrite",
    "no_flip": "dX correlated with the kernel upright, not rotated by 180 degrees",
    "filters_swapped": "dW stored as [c, f] and transposed back wrongly",
}
SYMPTOMS = {"A": "channel0", "B": "overwrite", "C": "batch_mean"}


def true_shapes(x_shape: tuple, w_shape: tuple, stride: int, pad: int,
                dilation: int) -> tuple[tuple, ...]:
    """``(out, dx, dw, db)`` shapes by PyTorch (groups = C / w_shape[1])."""
    x, w = torch.zeros(x_shape, dtype=torch.float64), torch.zeros(w_shape, dtype=torch.float64)
    out = F.conv2d(x, w, stride=stride, padding=pad, dilation=dilation,
                   groups=x_shape[1] // w_shape[1])
    return tuple(out.shape), tuple(x_shape), tuple(w_shape), (w_shape[0],)


def _shape(value) -> tuple | None:
    try:
        shape = tuple(value)
    except TypeError:
        return None
    if not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in shape):
        return None
    return tuple(int(v) for v in shape)


def check_shapes(gradient_shapes: Callable, group: str) -> None:
    """``gradient_shapes(x_shape, w_shape, stride, pad, dilation)`` -> ``(out, dx, dw, db)``."""
    passed = []
    for x_shape, w_shape, stride, pad, dilation in SHAPES[group]:
        call = (f"gradient_shapes({x_shape}, {w_shape}, stride={stride}, pad={pad}, "
                f"dilation={dilation})")
        got = call_student(gradient_shapes, x_shape, w_shape, stride=stride, pad=pad,
                           dilation=dilation, label=call)
        truth = true_shapes(x_shape, w_shape, stride, pad, dilation)
        if not isinstance(got, tuple | list) or len(got) != 4:
            raise CheckFailure(f"{call} should return four shapes (out, dx, dw, db), got {got!r}.")
        for name, value, right in zip(("out", "dx", "dw", "db"), got, truth, strict=True):
            if _shape(value) != right:
                hint = ("a dilated kernel spans dilation * (K - 1) + 1 pixels: use that span in "
                        "notebook 01's formula." if name == "out" else
                        f"{name} has the shape of what it is the gradient of.")
                raise CheckFailure(f"{call}: the shape of {name} is wrong, got {value!r}. "
                                   f"Hint: {hint}")
        passed.append(f"{call}: out {truth[0]}")
    report(passed, "the shapes PyTorch gives")


def true_count(C: int, F_: int, KH: int, KW: int, groups: int, bias: bool) -> int:
    """The number of learnable numbers of ``nn.Conv2d``."""
    layer = nn.Conv2d(C, F_, (KH, KW), groups=groups, bias=bias)
    return sum(p.numel() for p in layer.parameters())


def check_parameter_count(parameter_count: Callable, group: str) -> None:
    """``parameter_count(C, F, KH, KW, groups, bias)``: weights and biases of the layer."""
    passed = []
    for C, F_, KH, KW, groups, bias in COUNTS[group]:
        call = f"parameter_count({C}, {F_}, {KH}, {KW}, groups={groups}, bias={bias})"
        got = call_student(parameter_count, C, F_, KH, KW, groups=groups, bias=bias, label=call)
        truth = true_count(C, F_, KH, KW, groups, bias)
        if not isinstance(got, int | np.integer) or isinstance(got, bool) or got != truth:
            raise CheckFailure(
                f"{call} returned {got!r}, not the number of learnable numbers. Hint: each of "
                "the F filters sees C / groups input channels through a KH x KW kernel; the "
                "bias, if any, is one number per filter.")
        passed.append(f"{call} = {truth}")
    report(passed, "nn.Conv2d's parameter count")


def check_dw_correlations(dw_correlations: Callable, group: str) -> None:
    """``dw_correlations(x_shape, w_shape)``: how many single-channel correlations dW sums."""
    passed = []
    for x_shape, w_shape in CORRELATIONS[group]:
        call = f"dw_correlations({x_shape}, {w_shape})"
        got = call_student(dw_correlations, x_shape, w_shape, label=call)
        truth = x_shape[0] * w_shape[0] * x_shape[1]
        if not isinstance(got, int | np.integer) or isinstance(got, bool) or got != truth:
            raise CheckFailure(
                f"{call} returned {got!r}. Hint: dW[f, c] = sum over n of X[n, c] * dY[n, f]: "
                "one single-channel correlation for every example, filter and channel.")
        passed.append(f"{call} = {truth}")
    report(passed, "the correlations in dW[f, c] = sum_n X[n, c] * dY[n, f]")


def _case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    return (rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((2, 3, 3, 3)),
            rng.standard_normal((2, 2, 4, 4)))


def _overwriting_dx(dout: np.ndarray, w: np.ndarray, x_shape: tuple) -> np.ndarray:
    KH, KW = w.shape[2:]
    dx = np.zeros(x_shape)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx[:, :, i:i + KH, j:j + KW] = np.einsum("nf,fcuv->ncuv", dout[:, :, i, j], w)
    return dx


def symptom_errors() -> dict[str, tuple[str, np.ndarray]]:
    """Per symptom letter: which gradient, and buggy - true as panels ``(rows, cols, H, W)``."""
    x, w, dout = _case()
    dx, dw, _ = reference.conv2d_backward(dout, x, w)
    channel0 = np.repeat(x[:, :1], x.shape[1], axis=1)
    made = {"channel0": ("dw", reference.conv2d_backward(dout, channel0, w)[1] - dw),
            "batch_mean": ("dw", dw / x.shape[0] - dw),
            "overwrite": ("dx", _overwriting_dx(dout, w, x.shape) - dx)}
    return {letter: made[bug] for letter, bug in SYMPTOMS.items()}


def symptom_panels() -> list[list[Panel]]:
    """One row per symptom: its error maps, each symptom on its own colour scale."""
    rows = []
    for letter, (part, error) in symptom_errors().items():
        first, second = ("f", "c") if part == "dw" else ("n", "c")
        rows.append([Panel(f"{letter}: {part} error [{first}={a}, {second}={b}]", error[a, b],
                           group=letter) for a in range(error.shape[0])
                     for b in range(error.shape[1])])
    return rows


def check_symptoms(name_the_bug: Callable, letters: Iterable[str]) -> None:
    """``name_the_bug(letter)`` must name the bug behind each symptom (a key of ``BUGS``)."""
    passed = []
    for letter in letters:
        call = f"name_the_bug({letter!r})"
        got = call_student(name_the_bug, letter, label=call)
        if got not in BUGS:
            raise CheckFailure(f"{call} returned {got!r}: answer with one of {sorted(BUGS)}.")
        if got != SYMPTOMS[letter]:
            raise CheckFailure(f"{call} returned {got!r}, which does not make error maps like "
                               f"symptom {letter}'s. Look at where the error is zero.")
        passed.append(f"{call} = {got!r}")
    report(passed, "the bugs behind the symptoms")


def check_symptom_answers_readable(name_the_bug: Callable) -> None:
    """Only the form: each answer is one of the bug names (the hidden test grades them)."""
    for letter in SYMPTOMS:
        call = f"name_the_bug({letter!r})"
        got = call_student(name_the_bug, letter, label=call)
        if got not in BUGS:
            raise CheckFailure(f"{call} returned {got!r}: answer with one of {sorted(BUGS)}.")
        print(f"  ok  {call} names a bug of the list (graded by hidden tests)")
