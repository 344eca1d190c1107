"""Graded checks of notebook 02: numerical gradients, relative errors, directional, adjoint checks.

The functions under test are checkers themselves, so every check hands them a *problem* whose
answer the course knows: ``L(x) = sum(f(x) * dout)`` for a function ``f`` of an array, a random
upstream gradient ``dout`` (never all ones) and the true gradient ``dx = dL/dx``, from a plain NumPy
formula (element-wise and coupled functions) or from PyTorch's autograd in float64 (conv layers,
:mod:`course.reference`). Problems are named; their arrays come from a generator seeded by the name
and the instructor's grading seed (:func:`course.cases.grading_seed`), so a regrade is identical and
``COURSE_GRADING_SEED`` draws new hidden cases.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch

from course import reference
from course.cases import grading_seed
from course.checks import CheckFailure, Misconception, call_safely, compare, report, scaled_error

# Central differences in float64 with eps = 1e-5 are accurate to about 1e-10 on these problems
# (truncation eps^2 |f'''| / 6 plus round-off 1e-16 |L| / eps); a one-sided difference gives about
# 1e-5, float32 arithmetic 1e-3 or worse.
NUMERIC_TOL = 1e-7
# A directional check of the right gradient gives about 1e-10; a wrong one must score above 1e-2.
RIGHT_TOL = 1e-6
WRONG_MIN = 1e-2
# The adjoint test of a linear map involves no step at all: float64 round-off, about 1e-16.
ADJOINT_TOL = 1e-10
# A wrong gradient is graded with these seeds; one of them must reject it.
SEEDS = (0, 1, 2)


# --------------------------------------------------------------------------------------------
# Problems: L(x) = sum(f(x) * dout) with a known gradient


@dataclass(frozen=True)
class Problem:
    """``f`` of an array ``x``, a random ``dout`` shaped like ``f(x)`` and ``vjp(dout) = dL/dx``."""

    name: str
    formula: str
    f: Callable[[np.ndarray], np.ndarray]
    x: np.ndarray
    dout: np.ndarray
    vjp: Callable[[np.ndarray], np.ndarray]
    linear: bool = False
    params: dict | None = None  # the fixed arrays inside f (a kernel w, a matrix A), if any

    @property
    def dx(self) -> np.ndarray:
        """The true gradient of ``L(x) = sum(f(x) * dout)``."""
        return np.asarray(self.vjp(self.dout), dtype=np.float64)

    @property
    def label(self) -> str:
        return (f"f(x) = {self.formula}, x {_shape(self.x)} {self.x.dtype}, "
                f"random dout {_shape(self.dout)}")

    def loss(self, x: np.ndarray, dout: np.ndarray | None = None) -> float:
        """``sum(f(x) * dout)`` (the problem's own ``dout`` by default)."""
        return float(np.sum(self.f(x) * (self.dout if dout is None else dout)))


def _shape(a) -> str:
    return str(tuple(np.shape(a)))


def _f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _tanh(rng):
    x0 = rng.standard_normal(7)
    return "tanh(x)", lambda x: np.tanh(_f64(x)), x0, lambda g: g * (1 - np.tanh(x0) ** 2)


def _xsinx(rng):
    x0 = rng.standard_normal((3, 4))
    return ("x * sin(x)", lambda x: _f64(x) * np.sin(_f64(x)), x0,
            lambda g: g * (np.sin(x0) + x0 * np.cos(x0)))


def _softplus(rng):
    x0 = rng.standard_normal((2, 3, 2))
    return ("log(1 + exp(x))", lambda x: np.logaddexp(0.0, _f64(x)), x0,
            lambda g: g / (1 + np.exp(-x0)))


def _cubic(rng):
    x0 = rng.standard_normal((5, 2))
    return "x**3 - 2 x", lambda x: _f64(x) ** 3 - 2 * _f64(x), x0, lambda g: g * (3 * x0**2 - 2)


def _matmul(rng, rows=5):
    A = rng.standard_normal((rows, 4))
    x0 = rng.standard_normal((4, 3))
    return (f"A @ x, A {_shape(A)}", lambda x: A @ _f64(x), x0, lambda g: A.T @ g,
            {"A": A})


def _colsum(rng):
    x0 = rng.standard_normal((3, 5))
    return ("sum(x**2, axis=0)", lambda x: np.sum(_f64(x) ** 2, axis=0), x0,
            lambda g: 2 * x0 * g[None, :])


def _softmax_rows(rng):
    x0 = rng.standard_normal((2, 5))
    s = _softmax(x0)
    return ("softmax(x) along rows", lambda x: _softmax(_f64(x)), x0,
            lambda g: s * (g - np.sum(g * s, axis=-1, keepdims=True)))


def _gram(rng):
    x0 = rng.standard_normal((3, 4))
    return "x @ x.T", lambda x: _f64(x) @ _f64(x).T, x0, lambda g: (g + g.T) @ x0


def _sum_squares(rng):
    x0 = rng.standard_normal((2, 3))
    return "sum(x**2) (one number)", lambda x: np.sum(_f64(x) ** 2), x0, lambda g: 2 * g * x0


def _cumsum(rng):
    x0 = rng.standard_normal((3, 4))
    return ("cumsum(x, axis=1)", lambda x: np.cumsum(_f64(x), axis=1), x0,
            lambda g: np.cumsum(g[:, ::-1], axis=1)[:, ::-1])


def _conv_x(rng):
    x0 = rng.standard_normal((2, 2, 5, 6))
    w = rng.standard_normal((3, 2, 3, 2))
    return ("conv2d(x, w), w (3, 2, 3, 2), stride 2, pad 1",
            lambda x: reference.conv2d(x, w, None, 2, 1), x0,
            lambda g: reference.conv2d_backward(g, x0, w, 2, 1)[0])


def _conv_w(rng):
    x = rng.standard_normal((2, 2, 5, 6))
    w0 = rng.standard_normal((3, 2, 3, 2))
    return ("conv2d(input, x) with x the weights, input (2, 2, 5, 6), pad 1",
            lambda w: reference.conv2d(x, w, None, 1, 1), w0,
            lambda g: reference.conv2d_backward(g, x, w0, 1, 1)[1])


def _conv1_x(rng):
    x0 = rng.standard_normal((6, 7))
    w = rng.standard_normal((3, 3))
    return ("conv2d_single(x, w), w (3, 3), pad 1",
            lambda x: reference.conv2d_single(x, w, pad=1), x0,
            lambda g: reference.conv2d_single_backward(g, x0, w, pad=1)[0], {"w": w})


def _conv1_w(rng):
    x = rng.standard_normal((6, 7))
    w0 = rng.standard_normal((3, 3))
    return ("conv2d_single(input, x) with x the kernel, input (6, 7)",
            lambda w: reference.conv2d_single(x, w), w0,
            lambda g: reference.conv2d_single_backward(g, x, w0)[1])


def _digit_uint8(rng):
    mask = np.array([[0, 0, 0, 0, 0, 0],
                     [0, 1, 1, 1, 1, 0],
                     [0, 0, 0, 0, 1, 0],
                     [0, 0, 0, 1, 0, 0],
                     [0, 0, 1, 0, 0, 0],
                     [0, 0, 1, 0, 0, 0]], dtype=bool)
    x0 = np.where(mask, rng.integers(60, 256, mask.shape), 0).astype(np.uint8)
    w = rng.standard_normal((3, 3))
    return ("conv2d_single(x, w), w (3, 3), pad 1 (an MNIST-like digit)",
            lambda x: reference.conv2d_single(_f64(x), w, pad=1), x0,
            lambda g: reference.conv2d_single_backward(g, _f64(x0), w, pad=1)[0])


def _tanh_int64(rng):
    x0 = rng.integers(-4, 5, (2, 5)).astype(np.int64)
    return ("tanh(0.3 x)", lambda x: np.tanh(0.3 * _f64(x)), x0,
            lambda g: 0.3 * g * (1 - np.tanh(0.3 * x0) ** 2))


_BUILDERS = {
    "tanh-7": _tanh, "xsinx-3x4": _xsinx, "softplus-2x3x2": _softplus, "cubic-5x2": _cubic,
    "matmul-4x3": _matmul, "matmul-square-4x3": lambda rng: _matmul(rng, rows=4),
    "colsum-3x5": _colsum, "softmax-2x5": _softmax_rows, "gram-3x4": _gram,
    "sum-squares-2x3": _sum_squares, "cumsum-3x4": _cumsum,
    "conv-x-2x2x5x6": _conv_x, "conv-w-3x2x3x2": _conv_w,
    "conv1-x-6x7": _conv1_x, "conv1-w-3x3": _conv1_w,
    "digit-uint8-6x6": _digit_uint8, "tanh-int64-2x5": _tanh_int64,
}
LINEAR = {"matmul-4x3", "matmul-square-4x3", "cumsum-3x4", "conv-x-2x2x5x6", "conv-w-3x2x3x2",
          "conv1-x-6x7", "conv1-w-3x3", "digit-uint8-6x6"}


def _build(name: str, attempt: int, seed: int):
    key = zlib.crc32(f"gradcheck/{name}/{attempt}".encode())
    rng = np.random.default_rng([seed, key])
    formula, f, x, vjp, *params = _BUILDERS[name](rng)
    return rng, formula, f, x, vjp, params


class ProblemFunction:
    """The ``f`` of a named problem as a picklable object: rebuilt from its name and seed.

    A test can then be replayed with the student's function in another process (see
    ``autograder/grade/verify/verify.py``): the function travels as ``(name, attempt, seed)``,
    not as code.
    """

    def __init__(self, name: str, attempt: int, seed: int, f: Callable | None = None):
        self.name, self.attempt, self.seed, self._f = name, attempt, seed, f

    def __getstate__(self):
        return (self.name, self.attempt, self.seed)

    def __setstate__(self, state):
        (self.name, self.attempt, self.seed), self._f = state, None

    def __call__(self, x):
        if self._f is None:
            self._f = _build(self.name, self.attempt, self.seed)[2]
        return self._f(x)

    def __repr__(self) -> str:
        return f"<the f of problem {self.name!r}>"


def problem(name: str, attempt: int = 0) -> Problem:
    """The named problem, its arrays drawn from the grading seed (``attempt`` draws another)."""
    seed = grading_seed()
    rng, formula, f, x, vjp, params = _build(name, attempt, seed)
    dout = rng.standard_normal(np.shape(f(x)))
    return Problem(name, formula, ProblemFunction(name, attempt, seed, f), x, dout, vjp,
                   name in LINEAR, *params)


# Problems by test cell. Visible tests take the first one or two of a list.
NUMERIC = {
    "elementwise": ["tanh-7", "xsinx-3x4", "softplus-2x3x2", "cubic-5x2"],
    "shapes": ["matmul-4x3", "conv-x-2x2x5x6", "colsum-3x5", "softmax-2x5", "gram-3x4",
               "sum-squares-2x3", "conv-w-3x2x3x2"],
}
INTEGER = ["digit-uint8-6x6", "tanh-int64-2x5"]


# --------------------------------------------------------------------------------------------
# Calling the student's checker


def _call(fn: Callable, *args, label: str, copy: bool = True, **kwargs):
    """Call ``fn`` (on copies of its array arguments); turn a crash into a :class:`CheckFailure`.

    Unlike :func:`course.checks.call_student`, an in-place edit is not a failure here: one test
    cell (:func:`check_keeps_input`) grades that, so that the other cells grade one idea each.
    """
    if copy:
        args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
    return call_safely(fn, *args, label=label, **kwargs)


def _as_number(fn: Callable, value, label: str,
               floor: str = "max(1e-12, |p| + |q|)") -> float:
    """A checker's verdict must be one finite real number."""
    if isinstance(value, (bool, np.bool_)) or np.ndim(value) != 0:
        raise CheckFailure(f"{fn.__name__} should return one number (a float), got "
                           f"{type(value).__name__} {_shape(value) if np.ndim(value) else value!r}"
                           f" (on {label}).")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CheckFailure(f"{fn.__name__} should return a float, got {value!r} "
                           f"(on {label}).") from None
    if not np.isfinite(number):
        raise CheckFailure(f"{fn.__name__} returned {number} (on {label}): guard the division "
                           f"with a floor, divide by {floor}.")
    return number


def _scalar_rel(p: float, q: float) -> float:
    return abs(p - q) / max(1e-12, abs(p) + abs(q))


class _Recording:
    """``f`` that remembers every array it is called with, to see how a checker perturbed x."""

    def __init__(self, f: Callable):
        self.f, self.inputs = f, []

    def __call__(self, x):
        self.inputs.append(np.array(x, dtype=np.float64))
        return self.f(x)


def _steps(recorded: _Recording, x: np.ndarray) -> list[np.ndarray]:
    """The non-zero perturbations ``x' - x`` a checker evaluated ``f`` at."""
    return [a - x for a in recorded.inputs if a.shape == x.shape and np.any(a != x)]


def _all_ones(step: np.ndarray) -> bool:
    scale = np.max(np.abs(step))
    return step.size > 1 and np.ptp(step) <= 1e-6 * scale


# --------------------------------------------------------------------------------------------
# numerical_gradient


def _numeric_misconceptions(p: Problem) -> list[Misconception]:
    return [
        Misconception("dout ignored", lambda: p.vjp(np.ones_like(p.dout)),
                      "your result is the gradient of sum(f(x)), as if dout were all ones. "
                      "The loss is L(x) = sum(f(x) * dout): multiply by dout before summing."),
        Misconception("divided by eps", lambda: 2 * p.dx,
                      "your result is twice the gradient: the two evaluations are 2 eps apart, "
                      "divide (L(x + eps e_i) - L(x - eps e_i)) by 2 * eps."),
        Misconception("divided by 4 eps", lambda: p.dx / 2,
                      "your result is half the gradient: divide by 2 * eps, the distance between "
                      "x + eps e_i and x - eps e_i."),
        Misconception("sign", lambda: -p.dx,
                      "your result has the wrong sign: compute L(x + eps e_i) - L(x - eps e_i), "
                      "plus step first."),
    ]


def check_numerical_gradient(numerical_gradient: Callable, names: Iterable[str]) -> None:
    """``numerical_gradient(f, x, dout)`` must match the true gradient on every named problem."""
    passed = []
    for name in names:
        p = problem(name)
        got = _call(numerical_gradient, p.f, p.x, p.dout, label=p.label)
        try:
            error = compare("the numerical gradient", got, p.dx, p.label, NUMERIC_TOL,
                            _numeric_misconceptions(p))
        except CheckFailure as failure:
            raise CheckFailure(f"{failure}{_numeric_hint(str(failure), got, p)}") from None
        passed.append(f"{p.label}: relative error {error:.1e}")
    report(passed, f"the true gradient (relative error <= {NUMERIC_TOL:g})")


def _numeric_hint(message: str, got, p: Problem) -> str:
    """A cause for a wrong numerical gradient that no :class:`Misconception` named."""
    got = np.asarray(got, dtype=np.float64)
    if "Likely cause" in message or got.shape != p.x.shape:
        return ""
    if not np.any(got):
        return ("\nLikely cause: your numerical gradient is all zeros: L never changed. Evaluate "
                "sum(f(x) * dout) after each step, on a float64 copy of x.")
    if NUMERIC_TOL < scaled_error(got, p.dx) < 1e-2:
        return ("\nLikely cause: an error of this size is what a one-sided difference "
                "(L(x + eps e_i) - L(x)) / eps (error proportional to eps) or float32 arithmetic "
                "gives: use central differences on a float64 copy of x.")
    return ""


def check_keeps_input(numerical_gradient: Callable, names: Iterable[str]) -> None:
    """``numerical_gradient`` must leave ``x`` and ``dout`` exactly as they were."""
    passed = []
    for name in names:
        p = problem(name)
        x, dout = p.x.copy(), p.dout.copy()
        _call(numerical_gradient, p.f, x, dout, label=p.label, copy=False)
        if not np.array_equal(dout, p.dout):
            raise CheckFailure(f"numerical_gradient modified dout in place (on {p.label}); "
                               "leave the caller's arrays alone.")
        if not np.array_equal(x, p.x):
            change = np.abs(x - p.x)
            if np.max(change) < 1e-9 * max(1.0, float(np.max(np.abs(p.x)))):
                why = ("changes this small are round-off: undoing the step by arithmetic "
                       "(x[i] += eps, x[i] -= 2 * eps, x[i] += eps) does not give back the "
                       "same float. Save old = x[i] and restore x[i] = old, or perturb a "
                       "float64 copy of x.")
            else:
                why = ("put each x[i] back after its two evaluations (save old = x[i], restore "
                       "x[i] = old), or perturb a float64 copy of x.")
            raise CheckFailure(
                f"numerical_gradient modified x in place (on {p.label}): afterwards "
                f"{np.count_nonzero(change)} of {x.size} entries differ, by up to "
                f"{np.max(change):.2g}. The caller's x is their data (an image, the weights): "
                f"{why}")
        passed.append(f"{p.label}: x and dout unchanged")
    report(passed, "the original x and dout (no in-place edit)")


def check_integer_input(numerical_gradient: Callable, names: Iterable[str] = INTEGER) -> None:
    """Integer ``x``: refused with ``TypeError``/``ValueError``, or the same answer as float64.

    The answer for integer ``x`` is compared with the student's own answer for the same values as
    float64, so this cell grades only the handling of integers.
    """
    passed = []
    for name in names:
        p = problem(name)
        try:
            got = numerical_gradient(p.f, p.x.copy(), p.dout.copy())
        except (TypeError, ValueError) as error:
            passed.append(f"{p.label}: refused with {type(error).__name__}: {error}")
            continue
        except NotImplementedError:
            raise CheckFailure("numerical_gradient is not implemented yet.") from None
        except Exception as error:
            raise CheckFailure(
                f"numerical_gradient raised {type(error).__name__}: {error} on integer input "
                f"({p.label}). Cast x to float64 first, or refuse integer input with a "
                "TypeError or ValueError that says so.") from None
        x64 = p.x.astype(np.float64)
        own = np.asarray(_call(numerical_gradient, p.f, x64, p.dout, label=p.label + " as float64"))
        got = np.asarray(got)
        if np.issubdtype(got.dtype, np.integer):
            raise CheckFailure(
                f"on integer input ({p.label}) your numerical gradient has dtype {got.dtype}: "
                "an array made with np.zeros_like(x) copies x's integer dtype, so every "
                "gradient entry is truncated to a whole number (or wraps around). Cast x to "
                "float64 first, or refuse integer input with a TypeError.")
        if own.shape != p.x.shape or not np.issubdtype(own.dtype, np.number) or not np.any(own):
            what = "all zeros" if own.shape == p.x.shape else f"of shape {_shape(own)}"
            raise CheckFailure(f"on {p.label} converted to float64, your numerical gradient is "
                               f"{what}: fix the float64 case first (the cells above).")
        if got.shape == own.shape and scaled_error(got.astype(np.float64), own) <= 1e-9:
            passed.append(f"{p.label}: same as for float64 input")
            continue
        zero = int(np.count_nonzero((got == 0) & (own != 0))) if got.shape == own.shape else 0
        which = "all zeros" if zero == got.size else f"zero at {zero} of {got.size} entries"
        lead = (f"your numerical gradient is {which} on integer input" if zero else
                "your numerical gradient on integer input differs from your own answer for the "
                "same values in float64")
        raise CheckFailure(
            f"{lead} ({p.label}): the perturbation was truncated. In an integer array, "
            "x[i] = old + eps stores old again (and old - eps may store old - 1), so L does not "
            "change, or jumps by a whole step. This is how a correct conv layer once got "
            "'dX error: 1.0'. Cast x to float64 first (np.array(x, dtype=np.float64)), or refuse "
            "integer input with a TypeError.")
    report(passed, "the integer-input rule (cast to float64, or refuse)")


# --------------------------------------------------------------------------------------------
# rel_error


@dataclass(frozen=True)
class RelRow:
    """``rel_error(a, b)`` on one pair, and what the pair is there to catch."""

    description: str
    a: object
    b: object


def _rel_truth(a, b) -> float:
    """``max |a - b| / max(1e-8, |a| + |b|)``, computed by PyTorch in float64."""
    ta, tb = (torch.as_tensor(np.asarray(v, dtype=np.float64)) for v in (a, b))
    return float(torch.max(torch.abs(ta - tb) / torch.clamp(torch.abs(ta) + torch.abs(tb),
                                                             min=1e-8)))


def rel_error_rows() -> list[RelRow]:
    """Pairs for ``rel_error``: the visible three first; the random ones follow the grading seed."""
    rng = np.random.default_rng([grading_seed(), zlib.crc32(b"gradcheck/rel_error")])
    a2 = rng.standard_normal((3, 4))
    a4 = rng.standard_normal((2, 3, 4, 5))
    return [
        RelRow("identical arrays", np.array([0.5, -1.2, 3.0]), np.array([0.5, -1.2, 3.0])),
        RelRow("one entry 10% off", np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.3])),
        RelRow("opposite signs", np.array([-1.0, 2.0]), np.array([1.0, 2.0])),
        RelRow("a larger than b", np.array([4.0, 1.0]), np.array([1.0, 1.0])),
        RelRow("b larger than a", np.array([1.0, 1.0]), np.array([4.0, 1.0])),
        RelRow("b larger everywhere", np.array([1.0, 2.0]), np.array([1.5, 2.5])),
        RelRow("the worst entry counts", np.array([1.0, 1.0, 1.0, 1.0]),
               np.array([1.0, 1.0, 1.0, 2.0])),
        RelRow("both zero", np.zeros(4), np.zeros(4)),
        RelRow("tiny values, below the 1e-8 floor", np.array([1e-12, 0.0]), np.zeros(2)),
        RelRow("two numbers", 1.0, 1.1),
        RelRow("random 2-D arrays", a2, a2 + 1e-3 * rng.standard_normal(a2.shape)),
        RelRow("random 4-D arrays, one far off", a4, a4 * np.where(
            np.arange(a4.size).reshape(a4.shape) == rng.integers(a4.size), 3.0, 1.0)),
        RelRow("random arrays of mixed scale", 10.0 ** rng.uniform(-6, 3, 6),
               10.0 ** rng.uniform(-6, 3, 6)),
    ]


def _rel_misconceptions(a, b) -> list[tuple[Callable[[], float], str]]:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    diff = np.abs(a - b)
    return [
        (lambda: np.max(diff / np.maximum(1e-8, np.abs(a))),
         "you divided by |a| only: the relative error must be symmetric, rel_error(a, b) == "
         "rel_error(b, a); divide by max(1e-8, |a| + |b|)."),
        (lambda: np.max(diff / np.maximum(1e-8, np.abs(b))),
         "you divided by |b| only: the relative error must be symmetric; divide by "
         "max(1e-8, |a| + |b|)."),
        (lambda: np.max(diff / np.maximum(1e-8, np.abs(a + b))),
         "you divided by |a + b|: when a and b have opposite signs that is near zero. Divide by "
         "|a| + |b| (absolute values first, then add)."),
        (lambda: np.mean(diff / np.maximum(1e-8, np.abs(a) + np.abs(b))),
         "you took the mean over entries: one wrong entry must show, take the maximum."),
        (lambda: np.max((a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))),
         "the absolute value of a - b is missing: an error is an error whatever its sign."),
        (lambda: np.sqrt(np.sum(diff**2)) / max(1e-8, np.sqrt(np.sum(a**2)) +
                                                 np.sqrt(np.sum(b**2))),
         "you compared norms of the whole arrays: the contract is the maximum over entries of "
         "|a - b| / max(1e-8, |a| + |b|), so that a small wrong entry is not hidden by large "
         "right ones."),
        (lambda: np.max(diff / (np.abs(a) + np.abs(b) + 1e-8)),
         "you added 1e-8 to the denominator instead of taking max(1e-8, |a| + |b|)."),
    ]


def check_rel_error(rel_error: Callable, rows: Iterable[RelRow]) -> None:
    """``rel_error(a, b)`` must equal ``max |a - b| / max(1e-8, |a| + |b|)`` on every row."""
    passed = []
    for row in rows:
        label = f"{row.description}: a = {_brief(row.a)}, b = {_brief(row.b)}"
        got = _as_number(rel_error, _call(rel_error, row.a, row.b, label=label), label,
                         floor="max(1e-8, |a| + |b|), entry by entry")
        expected = _rel_truth(row.a, row.b)
        if abs(got - expected) <= 1e-9 * expected + 1e-15:
            passed.append(f"{label} -> {got:.4g}")
            continue
        cause = next((advice for wrong, advice in _rel_misconceptions(row.a, row.b)
                      if abs(float(wrong()) - got) <= 1e-9 * abs(got) + 1e-15
                      and abs(float(wrong()) - expected) > 1e-9 * expected + 1e-15), None)
        hint = f"\nLikely cause: {cause}" if cause else ""
        raise CheckFailure(f"rel_error returned {got:.6g} on {label}; expected {expected:.6g} = "
                           f"max |a - b| / max(1e-8, |a| + |b|).{hint}")
    report(passed, "max |a - b| / max(1e-8, |a| + |b|)")


def _brief(v) -> str:
    a = np.asarray(v)
    if a.ndim == 0:
        return f"{float(a):g}"
    if a.size <= 4:
        return np.array2string(a, precision=3, separator=", ")
    return f"array {_shape(a)}"


# --------------------------------------------------------------------------------------------
# directional_check


@dataclass(frozen=True)
class Wrong:
    """A wrong gradient for a problem: ``make(dx, p)`` builds it from the right one."""

    problem: str
    make: Callable[[np.ndarray, Problem], np.ndarray]
    description: str


def _rot180(a: np.ndarray) -> np.ndarray:
    return a[..., ::-1, ::-1]


def _swap_two(dx: np.ndarray, p: Problem) -> np.ndarray:
    flat = dx.ravel().copy()
    i, j = int(np.argmax(flat)), int(np.argmin(flat))
    flat[i], flat[j] = flat[j], flat[i]
    return flat.reshape(dx.shape)


def _same_sum_noise(dx: np.ndarray, p: Problem) -> np.ndarray:
    noise = np.random.default_rng(zlib.crc32(p.name.encode())).standard_normal(dx.shape)
    return dx + np.std(dx) * (noise - noise.mean())


def _no_flip_dx(dx: np.ndarray, p: Problem) -> np.ndarray:
    """``conv1-x``: the dX of the kernel rotated by 180 degrees, i.e. dX without its flip."""
    return reference.conv2d_single_backward(p.dout, p.x, _rot180(p.params["w"]), pad=1)[0]


WRONG = {
    "rot180-dw": Wrong("conv1-w-3x3", lambda dx, p: _rot180(dx),
                       "dW rotated by 180 degrees (same sum as the right dW)"),
    "rot180-dw-4d": Wrong("conv-w-3x2x3x2", lambda dx, p: _rot180(dx),
                          "every filter's dW rotated by 180 degrees (same sum)"),
    "reversed": Wrong("tanh-7", lambda dx, p: dx[::-1],
                      "the right gradient in reverse order (same sum)"),
    "swapped": Wrong("xsinx-3x4", _swap_two,
                     "the largest and smallest entries swapped (same sum)"),
    "same-sum-noise": Wrong("matmul-4x3", _same_sum_noise,
                            "the right gradient plus noise that sums to zero (same sum)"),
    "doubled": Wrong("gram-3x4", lambda dx, p: 2 * dx, "twice the right gradient"),
    "dx-no-flip": Wrong("conv1-x-6x7", _no_flip_dx,
                        "dX computed with the kernel not rotated (the classic dX bug)"),
    "not-transposed": Wrong("matmul-square-4x3", lambda dx, p: p.params["A"] @ p.dout,
                            "the Jacobian not transposed: A @ dout instead of A.T @ dout"),
}


DIRECTIONAL = {
    "right": ["conv1-w-3x3", "tanh-7", "conv-x-2x2x5x6", "xsinx-3x4", "gram-3x4",
              "softplus-2x3x2", "conv-w-3x2x3x2"],
    "wrong": ["rot180-dw", "reversed", "rot180-dw-4d", "swapped", "same-sum-noise", "doubled"],
}


def _directional_diagnosis(recorded: _Recording, p: Problem, value: float) -> str:
    """Name what a directional check did wrong, from the points it evaluated ``f`` at."""
    steps = _steps(recorded, _f64(p.x))
    if not recorded.inputs:
        return "your check never called f: L(x + eps v) needs f(x + eps v)."
    if not steps:
        return "your check called f only at x itself: evaluate L at x + eps v and x - eps v."
    if all(_all_ones(s) for s in steps):
        return ("your directional check perturbed along all-ones (every entry by the same "
                "eps): that measures only the SUM of the gradient, so any wrong gradient with the "
                "right sum passes. Draw v from a Gaussian: "
                "np.random.default_rng(seed).standard_normal(x.shape).")
    s = steps[0]
    if len(steps) == 1:
        return ("your check evaluated f at one perturbed point only (a one-sided difference, "
                "error proportional to eps): use (L(x + eps v) - L(x - eps v)) / (2 eps).")
    plus, minus = _f64(p.x) + s, _f64(p.x) - s
    ones = np.ones_like(p.dout)
    q = float(np.sum(p.dx * s))
    without = _scalar_rel((p.loss(plus, ones) - p.loss(minus, ones)) / 2, q)
    if abs(without - value) <= 1e-3 * max(without, 1e-12):
        return ("your check ignores dout: the loss is L(x) = sum(f(x) * dout), not sum(f(x)).")
    return ""


def _hint(text: str) -> str:
    return f"\nLikely cause: {text}" if text else ""


def check_directional_accepts(directional_check: Callable, names: Iterable[str]) -> None:
    """``directional_check(f, x, dout, dx)`` must be tiny (<= RIGHT_TOL) for the right ``dx``."""
    passed = []
    for name in names:
        p = problem(name)
        f = _Recording(p.f)
        label = f"{p.label}, the right dx"
        value = _as_number(directional_check,
                           _call(directional_check, f, p.x, p.dout, p.dx, label=label), label)
        if not 0 <= value <= RIGHT_TOL:
            raise CheckFailure(
                f"directional_check returned {value:.3g} for the right gradient on {label}; a "
                f"correct check gives about 1e-10 here (it must be <= {RIGHT_TOL:g}). Compare "
                "(L(x + eps v) - L(x - eps v)) / (2 eps) with sum(dx * v), L(x) = sum(f(x) * "
                "dout), by |p - q| / max(1e-12, |p| + |q|)."
                + _hint(_directional_diagnosis(f, p, value)))
        passed.append(f"{label}: {value:.1e}")
    report(passed, f"the expected verdict: the right gradient passes (<= {RIGHT_TOL:g})")


def check_directional_rejects(directional_check: Callable, keys: Iterable[str]) -> None:
    """For each wrong gradient, one of the seeds ``SEEDS`` must give more than ``WRONG_MIN``."""
    passed = []
    for key in keys:
        wrong = WRONG[key]
        p = problem(wrong.problem)
        bad = wrong.make(p.dx, p)
        label = f"{p.label}, dx = {wrong.description}"
        values, recorders = [], []
        for seed in SEEDS:
            f = _Recording(p.f)
            recorders.append(f)
            values.append(_as_number(directional_check, _call(
                directional_check, f, p.x, p.dout, bad, label=label, seed=seed), label))
        if max(values) <= WRONG_MIN:
            shown = ", ".join(f"{v:.2g}" for v in values)
            raise CheckFailure(
                f"directional_check accepted a wrong gradient: on {label} it returned {shown} "
                f"for seeds {SEEDS}; a wrong gradient must give more than {WRONG_MIN:g} for at "
                "least one seed. A check must REJECT wrong gradients, not only accept right ones."
                + _hint(_directional_diagnosis(recorders[0], p, values[0])))
        passed.append(f"{label}: rejected, up to {max(values):.2g} over seeds {SEEDS}")
    report(passed, f"the expected verdict: a wrong gradient fails (> {WRONG_MIN:g})")


# --------------------------------------------------------------------------------------------
# adjoint_check

ADJOINT = {
    "right": ["conv1-x-6x7", "matmul-4x3", "conv-x-2x2x5x6", "conv-w-3x2x3x2", "cumsum-3x4",
              "conv1-w-3x3"],
    "wrong": [("dx-no-flip", 1.0), ("rot180-dw-4d", 1.0), ("not-transposed", 1.0),
              ("dx-no-flip", 1e-6), ("rot180-dw", 1e-6)],
}


def _scaled(p: Problem, scale: float) -> Problem:
    """The same linear problem with ``x`` and ``dout`` multiplied by ``scale``."""
    if scale == 1.0:
        return p
    return Problem(p.name, p.formula, p.f, p.x * scale, p.dout * scale, p.vjp, p.linear,
                   p.params)


def _adjoint_mismatch(p: Problem, dx: np.ndarray) -> float:
    return _scalar_rel(float(np.sum(p.f(p.x) * p.dout)), float(np.sum(p.x * dx)))


def check_adjoint_exact(adjoint_check: Callable, names: Iterable[str]) -> None:
    """``adjoint_check(f, x, dout, dx)`` must be at round-off level for the right ``dx``."""
    passed = []
    for name in names:
        p = problem(name)
        label = f"{p.label}, the right dx"
        value = _as_number(adjoint_check,
                           _call(adjoint_check, p.f, p.x, p.dout, p.dx, label=label), label)
        if not 0 <= value <= ADJOINT_TOL:
            raise CheckFailure(
                f"adjoint_check returned {value:.3g} for the right dx of a linear f on {label}; "
                f"the adjoint identity holds to round-off, about 1e-16 (it must be <= "
                f"{ADJOINT_TOL:g}). Compare <f(x), dout> = sum(f(x) * dout) with <x, dx> = "
                "sum(x * dx), by |p - q| / max(1e-12, |p| + |q|), with no step eps.")
        passed.append(f"{label}: {value:.1e}")
    report(passed, f"the adjoint identity <f(x), dout> = <x, dx> (<= {ADJOINT_TOL:g})")


def check_adjoint_rejects(adjoint_check: Callable, rows: Iterable[tuple[str, float]]) -> None:
    """For each wrong ``dx`` (a key of ``WRONG`` and a scale), the mismatch must exceed WRONG_MIN.

    The scale multiplies ``x`` and ``dout``: a relative mismatch does not depend on it, an
    absolute difference does. Each wrong case is redrawn until its true mismatch is at least 0.1,
    so any reasonable normalisation puts it far above WRONG_MIN.
    """
    passed = []
    for key, scale in rows:
        wrong = WRONG[key]
        for attempt in range(50):
            p = problem(wrong.problem, attempt)
            bad = wrong.make(p.dx, p)
            if _adjoint_mismatch(p, bad) >= 0.1:
                break
        p, bad = _scaled(p, scale), bad * scale
        label = (f"{p.label}, dx = {wrong.description}"
                 + (f", x and dout scaled by {scale:g}" if scale != 1.0 else ""))
        value = _as_number(adjoint_check,
                           _call(adjoint_check, p.f, p.x, p.dout, bad, label=label), label)
        if value <= WRONG_MIN:
            truth = _adjoint_mismatch(p, bad)
            small = float(np.sum(p.f(p.x) * p.dout))
            cause = ("the two inner products are tiny here (about "
                     f"{abs(small):.1g}): an absolute difference |p - q| is tiny too. Divide by "
                     "max(1e-12, |p| + |q|) so that the verdict does not depend on the scale."
                     if scale != 1.0 else "")
            raise CheckFailure(
                f"adjoint_check accepted a wrong dx: it returned {value:.3g} on {label}; the "
                f"relative mismatch of <f(x), dout> and <x, dx> is {truth:.2g} here (it must "
                f"be more than {WRONG_MIN:g})." + _hint(cause))
        passed.append(f"{label}: rejected, {value:.2g}")
    report(passed, f"the expected verdict: a wrong dx fails (> {WRONG_MIN:g})")
