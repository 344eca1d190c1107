"""The machinery of graded checks: call a student's function safely, compare, explain failures.

A check prints one line per case it passed and raises :class:`CheckFailure` (an
``AssertionError``) with a message a student can act on at the first case it fails. Messages go to
stdout, never stderr: nbgrader scores a test cell that writes to stderr as failed. The checks of
each notebook live in their own module (``forward_checks`` for 01, ...) and build on this one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np


class CheckFailure(AssertionError):
    """A graded check failed; the message says what is wrong and, where known, why.

    IPython shows it as its message alone (``_render_traceback_``), in JupyterLab and in the
    feedback page: the frames of the course's checks say nothing to the student.
    """

    def _render_traceback_(self) -> list[str]:
        return f"{type(self).__name__}: {self}".splitlines()


class TooSlow(CheckFailure):
    """A right answer that took longer than a timed check allows."""


@dataclass(frozen=True)
class Misconception:
    """A known wrong answer: how to compute what it outputs, and what to tell its author."""

    name: str
    output: Callable[[], np.ndarray]
    advice: str

    def matches(self, got: np.ndarray, expected: np.ndarray, tol: float) -> bool:
        """Whether ``got`` is this wrong answer (one that differs from the right answer)."""
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


def call_safely(fn: Callable, *args, label: str, **kwargs):
    """Call ``fn``; a crash (or the unfilled stub) becomes a :class:`CheckFailure` for the case."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailure(f"{fn.__name__} is not implemented yet.") from None
    except Exception as error:  # any crash on valid input is the student's to see
        raise CheckFailure(
            f"{fn.__name__} raised {type(error).__name__}: {error} (on {label})") from None


def call_student(fn: Callable, *args, label: str, **kwargs):
    """Call ``fn`` on copies of its array arguments; crashes and in-place edits become failures."""
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    result = call_safely(fn, *copies, label=label, **kwargs)
    for original, copy in zip(args, copies, strict=True):
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


def report(passed: list[str], what: str) -> None:
    """Print the cases that passed and a one-line verdict."""
    for line in passed:
        print("  ok ", line)
    print(f"Passed: {len(passed)} of {len(passed)} cases match {what}.")


def check_rejects(fn: Callable, bad_calls: dict[str, tuple[tuple, dict]]) -> None:
    """Each call in ``bad_calls`` (description -> ``(args, kwargs)``) must raise ``ValueError``."""
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
