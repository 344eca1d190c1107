"""Graded checks: call a student's function, compare with the trusted reference, explain failures.

Every check prints one line per case it passed and raises :class:`CheckFailure` (an
``AssertionError``) with a message a student can act on at the first case it fails. Messages go to
stdout, never stderr: nbgrader scores a test cell that writes to stderr as failed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from course import reference
from course.cases import ConvCase, arrays

# Forward passes may be computed in float32: a sum of at most a few dozen products carries a
# relative rounding error below 1e-6, while every indexing bug gives an error of order 1.
FORWARD_TOL = 1e-5


class CheckFailure(AssertionError):
    """A graded check failed; the message says what is wrong and, where known, why."""


@dataclass(frozen=True)
class Misconception:
    """A known wrong answer: how to compute what it outputs, and what to tell its author."""

    name: str
    output: Callable[[], np.ndarray]
    advice: str

    def matches(self, got: np.ndarray, expected: np.ndarray, tol: float) -> bool:
        """Whether ``got`` is this wrong answer (and the wrong answer differs from the right one)."""
        try:
            wrong = np.asarray(self.output())
        except (ValueError, RuntimeError, IndexError):  # the wrong formula has no answer here
            return False
        if wrong.shape != got.shape or scaled_error(got, wrong) > tol:
            return False
        return wrong.shape != expected.shape or scaled_error(wrong, expected) > tol


def scaled_error(got: np.ndarray, expected: np.ndarray) -> float:
    """``max |got - expected| / max |expected|``: 0 is exact, about 1e-16 is float64 round-off."""
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-300)
    return float(np.max(np.abs(got - expected), initial=0.0)) / scale


def call_student(fn: Callable, *args, label: str, **kwargs):
    """Call ``fn`` on copies of its array arguments; turn crashes and in-place edits into failures."""
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    try:
        result = fn(*copies, **kwargs)
    except NotImplementedError:
        raise CheckFailure(f"{fn.__name__} is not implemented yet.") from None
    except Exception as error:  # any crash on valid input is the student's to see
        raise CheckFailure(
            f"{fn.__name__} raised {type(error).__name__}: {error} (on {label})") from None
    for original, copy in zip(args, copies):
        if isinstance(original, np.ndarray) and not np.array_equal(original, copy):
            raise CheckFailure(
                f"{fn.__name__} changed one of its input arrays in place (on {label}); "
                "work on a copy.")
    return result


def as_float_array(name: str, value, label: str) -> np.ndarray:
    """Check that ``value`` is a finite floating-point array and return it as one."""
    array = np.asarray(value)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise CheckFailure(f"{name} should be a numpy array of floats, got {type(value).__name__}"
                           f" (on {label}).")
    if not np.issubdtype(array.dtype, np.floating):
        raise CheckFailure(f"{name} has dtype {array.dtype}: gradients and outputs are real "
                           f"numbers, return a float array (on {label}).")
    if not np.all(np.isfinite(array)):
        raise CheckFailure(f"{name} contains NaN or inf (on {label}).")
    return array


def compare(name: str, got, expected: np.ndarray, label: str, tol: float,
            misconceptions: Iterable[Misconception] = ()) -> float:
    """Raise a :class:`CheckFailure` unless ``got`` matches ``expected`` in shape and value."""
    got = as_float_array(name, got, label)
    if got.shape == expected.shape and scaled_error(got, expected) <= tol:
        return scaled_error(got, expected)
    cause = next((m.advice for m in misconceptions if m.matches(got, expected, tol)), None)
    hint = f"\nLikely cause: {cause}" if cause else ""
    if got.shape != expected.shape:
        raise CheckFailure(f"{name} has shape {got.shape}, expected {expected.shape} "
                           f"(on {label}).{hint}")
    raise CheckFailure(f"{name} is wrong on {label}: relative error "
                       f"{scaled_error(got, expected):.2g} (tolerance {tol:g}).{hint}")


def _report(passed: list[str], what: str) -> None:
    for line in passed:
        print("  ok ", line)
    print(f"Passed: {len(passed)} of {len(passed)} cases match {what}.")


# --- Notebook 01: output size and single-channel forward pass ---------------------------------

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
    _report(passed, "PyTorch's output length")


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
    _report(passed, f"PyTorch in float64 (relative error <= {FORWARD_TOL:g})")


def check_rejects(fn: Callable, bad_calls: dict[str, tuple[tuple, dict]]) -> None:
    """Each call in ``bad_calls`` (a description -> ``(args, kwargs)``) must raise ``ValueError``."""
    for description, (args, kwargs) in bad_calls.items():
        try:
            fn(*args, **kwargs)
        except ValueError as error:
            print(f"  ok  {description}: ValueError: {error}")
            continue
        except NotImplementedError:
            raise CheckFailure(f"{fn.__name__} is not implemented yet.") from None
        except Exception as error:
            raise CheckFailure(f"{description}: expected a ValueError with a clear message, got "
                               f"{type(error).__name__}: {error}") from None
        raise CheckFailure(f"{description}: expected a ValueError, but {fn.__name__} returned.")
    print(f"All {len(bad_calls)} bad inputs raise a ValueError.")


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
