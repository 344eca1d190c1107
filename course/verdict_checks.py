"""Graded checks of notebook 07's ``gradient_verdict(analytic, numeric, crossed)``.

The honest verdict of a gradient check: the per-entry relative error
``|a - n| / max(1e-8, |a| + |n|)``, its maximum over the entries whose step crossed no kink, at most
``TOL``. Each case is data (the two gradients, the crossings, the right verdict); the hints name
the misconception a wrong verdict matches: the deepnet issue's signed sum, crossings counted as
failures, an absolute difference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from course import cases, digits_net
from course.checks import CheckFailure, call_student, report

TOL = 1e-6
FLOOR = 1e-8


@dataclass(frozen=True)
class VerdictCase:
    """Two gradients of the same loss, where steps crossed a kink, and the right verdict."""

    label: str
    analytic: np.ndarray
    numeric: np.ndarray
    crossed: np.ndarray
    right: bool


def relative_errors(analytic: np.ndarray, numeric: np.ndarray) -> np.ndarray:
    """``|a - n| / max(1e-8, |a| + |n|)``, entry by entry."""
    return np.abs(analytic - numeric) / np.maximum(FLOOR, np.abs(analytic) + np.abs(numeric))


def honest_verdict(analytic: np.ndarray, numeric: np.ndarray, crossed: np.ndarray) -> bool:
    """The right verdict: the largest relative error over the steps that crossed no kink."""
    return bool(np.all(relative_errors(analytic, numeric)[~crossed] <= TOL))


def central_differences(loss_and_pattern: Callable, theta: np.ndarray,
                        eps: float) -> tuple[np.ndarray, np.ndarray]:
    """The course's own ``(grad, crossed)``: central differences and the steps that cross a kink."""
    theta = np.array(theta, dtype=np.float64)
    grad, crossed = np.zeros(theta.shape), np.zeros(theta.shape, dtype=bool)
    pattern = loss_and_pattern(theta)[1]
    for i in np.ndindex(theta.shape):
        old = theta[i]
        theta[i] = old + eps
        plus, pattern_plus = loss_and_pattern(theta)
        theta[i] = old - eps
        minus, pattern_minus = loss_and_pattern(theta)
        theta[i] = old
        grad[i] = (plus - minus) / (2 * eps)
        crossed[i] = not (np.array_equal(pattern_plus, pattern)
                          and np.array_equal(pattern_minus, pattern))
    return grad, crossed


def _digits(scale: float, eps: float, wrong: Callable | None, label: str) -> VerdictCase:
    net = digits_net.digits_net(scale)
    analytic = net.gradient()
    numeric, crossed = central_differences(net.loss_and_pattern(), net.w, eps)
    if wrong is not None:
        analytic = wrong(analytic)
    return VerdictCase(label, analytic, numeric, crossed, wrong is None)


def _synthetic(kind: str) -> VerdictCase:
    rng = np.random.default_rng([cases.grading_seed(), len(kind)])
    a = rng.standard_normal((4, 1, 3, 3))
    close = a * (1 + 1e-10 * rng.standard_normal(a.shape))       # round-off only
    none = np.zeros(a.shape, dtype=bool)
    if kind == "kinks":
        crossed = none.copy()
        crossed.flat[[3, 17, 29]] = True
        n = close.copy()
        n[crossed] += 0.5                                         # chords across kinks
        return VerdictCase("random dW, 3 steps across kinks off by 0.5", a, n, crossed, True)
    if kind == "swapped":
        n = a.copy()
        n.flat[[0, 1]] = n.flat[[1, 0]]
        return VerdictCase("two entries swapped (same sum), no kinks", a, n, none, False)
    if kind == "one-off":
        n = close.copy()
        n.flat[7] *= 1.01
        return VerdictCase("one entry of 36 off by 1%, no kinks", a, n, none, False)
    if kind == "large":
        return VerdictCase("right, gradients near 1e5 (round-off 1e-10 relative)", a * 1e5,
                           close * 1e5, none, True)
    return VerdictCase("wrong by 10%, gradients near 1e-6", a * 1e-6, close * 1.1e-6, none, False)


def verdict_cases(group: str) -> list[VerdictCase]:
    """The cases of one test cell: "kinks", "wrong" or "scale"."""
    if group == "kinks":
        return [_digits(digits_net.RAW_MAX, 1e-4, None,
                        "the deepnet network on digits in 0-255, eps 1e-4, right dW"),
                _synthetic("kinks")]
    if group == "wrong":
        return [_synthetic("swapped"),
                _digits(1.0, 1e-5, lambda g: g[..., ::-1, ::-1].copy(),
                        "the deepnet network on digits in [0, 1], dW rotated by 180 degrees"),
                _synthetic("one-off")]
    return [_synthetic("large"), _synthetic("small")]


def _hint(got: bool, case: VerdictCase) -> str:
    """What a wrong verdict matches: each known misconception that gives the same answer here."""
    a, n, crossed = case.analytic, case.numeric, case.crossed
    misreadings = [
        (crossed.any() and got == bool(np.all(relative_errors(a, n) <= TOL)),
         "you counted the steps that crossed a kink: there the central difference is the slope "
         "of a chord across the kink, not a derivative. Leave out the entries where crossed is "
         "True."),
        (got == bool(np.all(np.abs(a - n)[~crossed] <= TOL)),
         "an absolute difference |a - n| depends on the size of the gradient: divide by "
         "max(1e-8, |a| + |n|)."),
        (got == bool(abs(np.sum(a - n)) <= TOL),
         f"np.sum(analytic - numeric) is {np.sum(a - n):.3g} here: a signed sum lets errors of "
         "opposite signs cancel and grows with the size and number of entries; it is not an "
         "error measure. Compare entry by entry, relatively."),
    ]
    return " Or: ".join(text for matches, text in misreadings if matches)


def check_gradient_verdict(gradient_verdict: Callable, group: str) -> None:
    """``gradient_verdict(analytic, numeric, crossed)`` must give the honest verdict."""
    passed = []
    for case in verdict_cases(group):
        got = call_student(gradient_verdict, case.analytic, case.numeric, case.crossed,
                           label=case.label)
        if not isinstance(got, bool | np.bool_):
            raise CheckFailure(f"gradient_verdict returned {type(got).__name__} on "
                               f"{case.label}: return True (right) or False (wrong).")
        if bool(got) != case.right:
            worst = relative_errors(case.analytic, case.numeric)[~case.crossed].max()
            hint = _hint(bool(got), case)
            raise CheckFailure(
                f"gradient_verdict said {bool(got)} on {case.label}; the honest verdict is "
                f"{case.right}: the largest relative error over the {int((~case.crossed).sum())} "
                f"entries whose step crossed no kink is {worst:.2g} (right: <= {TOL:g})."
                + (f"\nLikely cause: {hint}" if hint else ""))
        passed.append(f"{case.label}: {'right' if case.right else 'wrong'}")
    report(passed, "the honest verdict")
