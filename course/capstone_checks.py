"""Graded checks of notebook 07: your layer in ``torch.autograd.Function``, trained, and checked.

``Conv2dFunction.apply(x, w, b, stride, pad)`` must compute with the notebook's NumPy functions
``conv2d_forward_fast(x, w, b, stride, pad) -> y`` and ``conv2d_backward_fast(dout, x, w, stride,
pad) -> (dx, dw, db)``, looked up by name when it runs. That is what lets the wrapper be graded on
its own: :func:`substituted` puts trusted stand-ins (PyTorch in float64, :mod:`course.reference`)
or spies in the notebook's namespace for the length of a check and always puts the student's own
functions back. Only :func:`check_one_step` and :func:`check_training` run the student's NumPy
code: they are the integration test. They too put functions of their own under the two names,
pass-throughs that call the student's and count the calls (:class:`PassThrough`), and require a
call in every forward and every backward of every layer: so the wrapper never sees its own
NumPy functions in place, and one that computes with PyTorch instead fails.
:func:`check_honest_gradient` grades a kink-aware numerical gradient on
:func:`course.capstone.kink_net`.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from course import capstone, reference
from course.backward_checks import BACKWARD_TOL
from course.cases import ConvCase, arrays, grading_seed, rng_for
from course.checks import (
    CheckFailure,
    TooSlow,
    as_float_array,
    call_safely,
    compare,
    report,
    scaled_error,
)

FORWARD, BACKWARD = "conv2d_forward_fast", "conv2d_backward_fast"
INPUTS = ("x", "w", "b")
# The convolution is linear in each of x, w and b, so a central difference has no truncation
# error: in float64 what is left is round-off, about 1e-16 |y| / eps = 1e-9 here. These
# tolerances leave a margin of about a hundred; a float32 computation is off by 1e-2 or more.
GRADCHECK = {"eps": 1e-6, "atol": 1e-7, "rtol": 1e-6}
# A spy's returns are random and far from the true gradient: a gradient that went through float32
# on its way still matches to 1e-7, one that PyTorch computed is off by about 1.
SPY_TOL = 1e-6
TRAINING_BAR, TRAINING_SECONDS = 0.90, 45.0
# Central differences of the kink network's loss (quadratic wherever the pattern holds) are exact
# up to round-off: at most about 3e-9 relative to the largest gradient entry. A one-sided
# difference is off by eps * L'' / 2: about 1e-6, and at least 4e-7 over many seeds.
HONEST_EPS, HONEST_TOL = 1e-6, 1e-7

# Small cases: a batch, several channels and filters, stride 2 and padding 1, H != W, KH != KW.
WRAPPER_CASES = [
    ConvCase("capstone-n2-c2-f3-5x5-3x3", 5, 5, 3, 3, N=2, C=2, F=3),
    ConvCase("capstone-n2-c3-f2-7x6-3x2-s2p1", 7, 6, 3, 2, stride=2, pad=1, N=2, C=3, F=2),
    ConvCase("capstone-n3-c1-f2-6x6-2x2-p1", 6, 6, 2, 2, pad=1, N=3, C=1, F=2),
    ConvCase("capstone-n1-c2-f4-8x7-3x3-s2", 8, 7, 3, 3, stride=2, N=1, C=2, F=4),
]
DETAILS_CASES = [
    ConvCase("capstone-details-n2-c2-f3-6x5-3x2-s2p1", 6, 5, 3, 2, stride=2, pad=1, N=2, C=2, F=3),
    ConvCase("capstone-details-n3-c3-f2-7x7-2x3-s3p2", 7, 7, 2, 3, stride=3, pad=2, N=3, C=3, F=2),
]
# The kink networks of the honest-gradient check (their shapes), and (network, parameter) cases.
KINK_NETS = {"kink-a": {}, "kink-b": {"C": 2, "W": 8}, "kink-c": {"N": 3, "Fn": 3, "K": 2}}
HONEST_CASES = [("kink-a", "w"), ("kink-a", "b"), ("kink-b", "x"), ("kink-b", "V"),
                ("kink-c", "w"), ("kink-c", "x")]


# --------------------------------------------------------------------------------------------
# Stand-ins for the student's NumPy functions, and how they are put in place


@contextlib.contextmanager
def substituted(namespace: dict, **functions: Callable) -> Iterator[None]:
    """Put ``functions`` in ``namespace`` (by name) for the ``with`` block; always restore it."""
    missing = object()
    saved = {name: namespace.get(name, missing) for name in functions}
    namespace.update(functions)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value


def _numpy(value) -> np.ndarray:
    """A float64 copy of what a wrapper passed to a NumPy function (an array, or a tensor)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().numpy()
    return np.array(value, dtype=np.float64)


def trusted_forward(x, w, b, stride: int = 1, pad: int = 0) -> np.ndarray:
    """The forward pass as ``conv2d_forward_fast`` should compute it: PyTorch in float64."""
    return reference.conv2d(_numpy(x), _numpy(w), _numpy(b), stride, pad)


def trusted_backward(dout, x, w, stride: int = 1,
                     pad: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dx, dw, db)`` as ``conv2d_backward_fast`` should compute them: PyTorch in float64.

    Autograd runs a Function's backward with gradients off; the reference needs them on.
    """
    with torch.enable_grad():
        return reference.conv2d_backward(_numpy(dout), _numpy(x), _numpy(w), stride, pad)


def _flipped_view(a: np.ndarray) -> np.ndarray:
    """The same values as a view with negative strides, as ``a[..., ::-1]`` of a copy gives."""
    return np.flip(np.flip(a, -1).copy(), -1)


def flipped_forward(x, w, b, stride: int = 1, pad: int = 0) -> np.ndarray:
    """:func:`trusted_forward`, returned as a view with negative strides."""
    return _flipped_view(trusted_forward(x, w, b, stride, pad))


def flipped_backward(dout, x, w, stride: int = 1,
                     pad: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`trusted_backward`, each gradient returned as a view with negative strides."""
    dx, dw, db = trusted_backward(dout, x, w, stride, pad)
    return _flipped_view(dx), _flipped_view(dw), _flipped_view(db)


class PassThrough:
    """New functions under the names of the student's NumPy functions (those present in
    ``namespace``) that call the student's own and count the calls that returned."""

    def __init__(self, namespace: dict) -> None:
        self.calls = dict.fromkeys((FORWARD, BACKWARD), 0)
        self.returned: dict[str, object] = {}  # the last value each function returned
        self.functions = {name: self._counting(name, namespace[name])
                          for name in self.calls if name in namespace}

    def _counting(self, name: str, own: Callable) -> Callable:
        def pass_through(*args, **kwargs):
            result = own(*args, **kwargs)
            self.calls[name] += 1
            self.returned[name] = result
            return result
        return pass_through


class Spy:
    """Stand-ins that record their arguments and return known arrays unrelated to the input."""

    def __init__(self, y: np.ndarray, grads: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        self.y, self.grads = y, grads
        self.forward_calls: list[dict] = []
        self.backward_calls: list[dict] = []

    def forward(self, x, w, b, stride: int = 1, pad: int = 0) -> np.ndarray:
        self.forward_calls.append({"x": _numpy(x), "w": _numpy(w), "b": _numpy(b),
                                   "stride": stride, "pad": pad})
        return self.y.copy()

    def backward(self, dout, x, w, stride: int = 1,
                 pad: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self.backward_calls.append({"dout": _numpy(dout), "x": _numpy(x), "w": _numpy(w),
                                    "stride": stride, "pad": pad})
        return tuple(g.copy() for g in self.grads)


# --------------------------------------------------------------------------------------------
# Running the wrapper: errors become messages a student can act on


TORCH_HINTS = (
    ("incorrect number of gradients",
     "backward returns one value per input of forward, in order: dx, dw, db, None, None "
     "(stride and pad are ints: their gradient is None)."),
    ("different than None at position",
     "return None as the gradient of stride and pad: they are Python ints, not tensors."),
    ("invalid gradient at index",
     "each gradient has the shape of its input, in forward's order: dx like x, dw like w, db "
     "like b."),
    ("numpy array is negative",
     "torch.from_numpy refuses NumPy views with negative strides (a [::-1] flip gives one): "
     "convert with torch.from_numpy(np.ascontiguousarray(a))."),
    ("Can't call numpy() on Tensor that requires grad",
     "turn a tensor into a NumPy array with t.detach().numpy()."),
    ("must have the same dtype",
     "a layer of the network received a tensor of another dtype: return float64 for float64 "
     "inputs (the dtype of x)."),
)
STUB_NAMES = {FORWARD: FORWARD, BACKWARD: BACKWARD, "forward": "Conv2dFunction.forward",
              "backward": "Conv2dFunction.backward"}


def _unfinished(error: BaseException) -> str:
    """The name of the unfinished function a ``NotImplementedError`` came from."""
    frames = [f.name for f in traceback.extract_tb(error.__traceback__) if f.name in STUB_NAMES]
    return STUB_NAMES[frames[-1]] if frames else "a function this test needs"


def run(fn: Callable, *args, label: str, who: str = "Conv2dFunction", **kwargs):
    """``fn(*args, **kwargs)``; a crash in the student's code becomes a :class:`CheckFailure`."""
    try:
        return fn(*args, **kwargs)
    except CheckFailure:
        raise
    except NotImplementedError as error:
        raise CheckFailure(f"{_unfinished(error)} is not implemented yet (on {label}).") from None
    except Exception as error:  # any crash on valid input is the student's to see
        first = (str(error).strip().splitlines() or [""])[0]
        hint = next((f"\nLikely cause: {h}" for key, h in TORCH_HINTS if key in str(error)), "")
        raise CheckFailure(f"{who} raised {type(error).__name__}: {first} "
                           f"(on {label}).{hint}") from None


def _leaves(*arrays_: np.ndarray) -> list[torch.Tensor]:
    return [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays_]


def _check_output(y, shape: tuple, label: str) -> None:
    """The wrapper's output must be a float64 tensor of the right shape."""
    if not isinstance(y, torch.Tensor):
        raise CheckFailure(f"Conv2dFunction.apply returned {type(y).__name__}, expected a torch "
                           f"tensor (on {label}): forward returns torch.from_numpy(y).")
    if y.dtype != torch.float64:
        raise CheckFailure(f"the output has dtype {y.dtype} for float64 inputs (on {label}): "
                           "keep the dtype of x (a silent float32 loses 9 digits).")
    if tuple(y.shape) != shape:
        raise CheckFailure(f"the output has shape {tuple(y.shape)}, expected {shape} "
                           f"(on {label}).")


def _precision_hint(error: float) -> str:
    if 1e-12 < error < 1e-3:
        return ("\nLikely cause: an error of this size is float32 round-off: keep every array "
                "float64 (x.detach().numpy() of a float64 tensor is float64; no .float()).")
    return ""


def _compare(name: str, got: torch.Tensor | None, expected: np.ndarray, label: str,
             tol: float = BACKWARD_TOL) -> float:
    """``got`` (a tensor, or a missing gradient) against ``expected``; returns the error."""
    if got is None:
        raise CheckFailure(f"{name} is None after backward (on {label}): backward must return "
                           "a gradient for every tensor input that requires one.")
    got = got.detach().numpy()
    try:
        return compare(name, got, expected, label, tol)
    except CheckFailure as failure:
        hint = _precision_hint(scaled_error(got, expected)) if got.shape == expected.shape else ""
        raise CheckFailure(f"{failure}{hint}") from None


def _gradcheck(fn: Callable, inputs: tuple, names: Iterable[str], label: str) -> None:
    """``torch.autograd.gradcheck`` in float64 with :data:`GRADCHECK`'s tolerances."""
    names = list(names)
    try:
        run(torch.autograd.gradcheck, fn, inputs, label=label, **GRADCHECK)
    except CheckFailure as failure:
        text = str(failure)
        which = next((n for i, n in enumerate(names) if f"respect to input {i}," in text), None)
        if "Jacobian mismatch" in text and which:
            raise CheckFailure(
                f"gradcheck fails on {label}: the gradient with respect to {which} from your "
                "backward differs from central differences of your forward (eps 1e-6, atol 1e-7, "
                "rtol 1e-6).") from None
        raise


# --------------------------------------------------------------------------------------------
# The wrapper: gradcheck, the gradient's provenance, the details


def check_wrapper_gradcheck(function_class: type, namespace: dict,
                            cases: Iterable[ConvCase] = WRAPPER_CASES) -> None:
    """With trusted NumPy functions in place, the wrapper's output and gradients are right.

    On each case: the output against PyTorch's, ``x.grad``, ``w.grad``, ``b.grad`` after
    ``y.backward(dout)`` with a random ``dout``, then ``gradcheck`` on all three inputs.
    """
    passed = []
    with substituted(namespace, **{FORWARD: trusted_forward, BACKWARD: trusted_backward}):
        for case in cases:
            data, label = arrays(case, "capstone-gradcheck"), case.describe()
            s, p = case.stride, case.pad
            x, w, b = _leaves(data.x, data.w, data.b)
            y = run(function_class.apply, x, w, b, s, p, label=label)
            _check_output(y, data.dout.shape, label)
            errors = [_compare("the output", y, reference.conv2d(data.x, data.w, data.b, s, p),
                               label)]
            run(y.backward, torch.from_numpy(data.dout), label=label)
            truth = reference.conv2d_backward(data.dout, data.x, data.w, s, p)
            errors += [_compare(f"{n}.grad", t.grad, g, label)
                       for n, t, g in zip(INPUTS, (x, w, b), truth, strict=True)]
            _gradcheck(function_class.apply, (x, w, b, s, p), INPUTS, label)
            passed.append(f"{label}: output, x.grad, w.grad, b.grad match PyTorch (relative "
                          f"error {max(errors):.1g}); gradcheck passes")
    report(passed, "PyTorch's convolution, and gradcheck in float64")


def _provenance(spy: Spy, x, w, b, y, data, s: int, p: int, label: str) -> None:
    """The gradients are the ones the backward spy returned, the output the forward spy's."""
    truth = reference.conv2d_backward(data.dout, data.x, data.w, s, p)
    start = "the gradient did not come from conv2d_backward_fast: "
    if not spy.backward_calls:
        raise CheckFailure(start + f"backward never called it (on {label}). Call it by its name "
                           "inside backward, on NumPy copies of dy and the saved x and w.")
    call = spy.backward_calls[-1]
    for name, expected in (("dout", data.dout), ("x", data.x), ("w", data.w)):
        if call[name].shape != expected.shape or scaled_error(call[name], expected) > SPY_TOL:
            what = "the upstream gradient dy" if name == "dout" else f"the layer's {name}"
            raise CheckFailure(start + f"it was called with a {name} that is not {what} "
                               f"(on {label}).")
    if (call["stride"], call["pad"]) != (s, p):
        raise CheckFailure(start + f"it was called with stride={call['stride']}, "
                           f"pad={call['pad']} for a layer with stride {s}, pad {p} (on {label}): "
                           "keep them in ctx in forward and pass them on.")
    for name, tensor, returned, true in zip(INPUTS, (x, w, b), spy.grads, truth, strict=True):
        got = None if tensor.grad is None else tensor.grad.numpy()
        if got is not None and got.shape == returned.shape and \
                scaled_error(got, returned) <= SPY_TOL:
            continue
        own = got is not None and got.shape == true.shape and scaled_error(got, true) <= SPY_TOL
        why = (f"{name}.grad is PyTorch's own gradient of the convolution, not the d{name} "
               "conv2d_backward_fast returned" if own else
               f"{name}.grad is not the d{name} conv2d_backward_fast returned")
        raise CheckFailure(start + f"{why} (on {label}).")
    if not spy.forward_calls:
        raise CheckFailure("the output did not come from conv2d_forward_fast: forward never "
                           f"called it (on {label}).")
    if scaled_error(y.detach().numpy(), spy.y) > SPY_TOL:
        raise CheckFailure("the output did not come from conv2d_forward_fast: it is not the "
                           f"array conv2d_forward_fast returned (on {label}).")


def check_wrapper_uses_your_code(function_class: type, namespace: dict,
                                 cases: Iterable[ConvCase] = WRAPPER_CASES[:2]) -> None:
    """The output and the gradients are exactly what the NumPy functions return.

    Spies stand in for ``conv2d_forward_fast`` and ``conv2d_backward_fast`` and return known
    random arrays (the true gradients for another ``dout``): a wrapper that differentiates with
    PyTorch's own convolution gets the true gradients instead, and fails.
    """
    passed = []
    for case in cases:
        data, label = arrays(case, "capstone-spy"), case.describe()
        s, p = case.stride, case.pad
        rng = rng_for(case, "capstone-spy-returns")
        spy = Spy(rng.standard_normal(data.dout.shape),
                  reference.conv2d_backward(rng.standard_normal(data.dout.shape), data.x, data.w,
                                            s, p))
        x, w, b = _leaves(data.x, data.w, data.b)
        with substituted(namespace, **{FORWARD: spy.forward, BACKWARD: spy.backward}):
            y = run(function_class.apply, x, w, b, s, p, label=label)
            if isinstance(y, torch.Tensor) and y.requires_grad:
                run(y.backward, torch.from_numpy(data.dout), label=label)
        if not isinstance(y, torch.Tensor):
            _check_output(y, data.dout.shape, label)
        _provenance(spy, x, w, b, y, data, s, p, label)
        passed.append(f"{label}: y, x.grad, w.grad and b.grad are what your functions returned; "
                      "conv2d_backward_fast got dy, x, w, stride and pad")
    report(passed, "stand-ins for your NumPy functions")


def check_wrapper_details(function_class: type, namespace: dict,
                          case: ConvCase = DETAILS_CASES[0]) -> None:
    """None for stride and pad, inputs that need no gradient, non-contiguous tensors, NumPy views.

    Every output must be a float64 tensor of the right shape, every gradient right.
    """
    data, s, p = arrays(case, "capstone-details"), case.stride, case.pad
    label = case.describe()
    truth_y = reference.conv2d(data.x, data.w, data.b, s, p)
    dx, dw, db = reference.conv2d_backward(data.dout, data.x, data.w, s, p)
    dout = torch.from_numpy(data.dout)
    apply = function_class.apply

    def output_and_backward(x, w, b, label: str) -> None:
        y = run(apply, x, w, b, s, p, label=label)
        _check_output(y, truth_y.shape, label)
        _compare("the output", y, truth_y, label)
        run(y.backward, dout, label=label)

    with substituted(namespace, **{FORWARD: trusted_forward, BACKWARD: trusted_backward}):
        x, w, b = _leaves(data.x, data.w, data.b)
        output_and_backward(x, w, b, label)
        for name, t, g in zip(INPUTS, (x, w, b), (dx, dw, db), strict=True):
            _compare(f"{name}.grad", t.grad, g, label)
        print(f"  ok  stride {s} and pad {p} are ints: backward returns None for them; the "
              f"output is a float64 tensor of shape {truth_y.shape}")

        x_fixed = torch.from_numpy(data.x)
        where = f"{label}, x.requires_grad=False"
        x, w, b = _leaves(data.x, data.w, data.b)
        output_and_backward(x_fixed, w, b, where)
        _compare("w.grad", w.grad, dw, where)
        _compare("b.grad", b.grad, db, where)
        _gradcheck(lambda w_, b_: apply(x_fixed, w_, b_, s, p), (w.detach().requires_grad_(),
                                                               b.detach().requires_grad_()),
                   ("w", "b"), where)
        print("  ok  x.requires_grad=False: w.grad and b.grad right, gradcheck in w and b passes")

        where = f"{label}, only x requires a gradient"
        w_fixed, b_fixed = torch.from_numpy(data.w), torch.from_numpy(data.b)
        _gradcheck(lambda x_: apply(x_, w_fixed, b_fixed, s, p), tuple(_leaves(data.x)), ("x",),
                   where)
        print("  ok  only x requires a gradient: gradcheck in x passes")

        where = f"{label}, x and w transposed views (not contiguous)"
        x_t, w_t = _leaves(data.x.swapaxes(2, 3).copy(), data.w.swapaxes(2, 3).copy())
        x_view, w_view = x_t.transpose(2, 3), w_t.transpose(2, 3)
        b_t = torch.tensor(data.b, requires_grad=True)
        output_and_backward(x_view, w_view, b_t, where)
        for name, t, g in (("x", x_t, dx), ("w", w_t, dw)):
            _compare(f"{name}.grad", None if t.grad is None else t.grad.transpose(2, 3), g, where)
        print("  ok  non-contiguous x and w (transposed views): output and gradients right")

    where = f"{label}, NumPy results that are views with negative strides"
    with substituted(namespace, **{FORWARD: flipped_forward, BACKWARD: flipped_backward}):
        x, w, b = _leaves(data.x, data.w, data.b)
        output_and_backward(x, w, b, where)
        for name, t, g in zip(INPUTS, (x, w, b), (dx, dw, db), strict=True):
            _compare(f"{name}.grad", t.grad, g, where)
    print("  ok  your functions may return views with negative strides (a [::-1] flip): "
          "converted right")
    print("Passed: 5 of 5 details of a well-behaved autograd Function.")


# --------------------------------------------------------------------------------------------
# Training: the student's own NumPy layer inside the CNN


def _not_called(method: str, name: str, layer: str, label: str) -> CheckFailure:
    return CheckFailure(
        f"Conv2dFunction.{method} must call your {name}, by its name, each time it runs: it "
        f"returned without calling it (the conv layer {layer}, on {label}). While this test runs, "
        "that name holds a function of the test that calls yours and counts the calls: a layer "
        "that computes with PyTorch instead is not your layer.")


def _check_returned(y: torch.Tensor, returned: object, layer: str, label: str) -> None:
    """The layer's output is what ``conv2d_forward_fast`` returned (to round-off: a wrapper
    may convert it), not something computed beside it."""
    ours = np.asarray(returned, dtype=np.float64)
    theirs = y.detach().cpu().numpy()
    if ours.shape != theirs.shape or not np.allclose(theirs, ours, rtol=1e-9, atol=1e-12):
        raise CheckFailure(
            f"Conv2dFunction.forward must return what your {FORWARD} returned (the conv layer "
            f"{layer}, on {label}): the layer's output is not the array your function computed. "
            "Return its result (as a tensor) instead of computing the output another way.")


def _watched_conv(function_class: type, calls: PassThrough, label: str) -> capstone.ConvFactory:
    """:func:`capstone.student_conv`'s layers, each use checked: the layer's forward calls
    ``conv2d_forward_fast``, its backward (autograd's node of the output) calls
    ``conv2d_backward_fast``, at least once each, as counted by ``calls``."""
    class Watched(capstone.StudentConv2d):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            layer = f"{self.weight.shape[1]} -> {self.weight.shape[0]}"  # channels -> filters
            before = calls.calls[FORWARD]
            y = super().forward(x)
            if calls.calls[FORWARD] == before:
                raise _not_called("forward", FORWARD, layer, label)
            _check_returned(y, calls.returned[FORWARD], layer, label)
            node = getattr(y, "grad_fn", None)
            if node is not None:
                start = []
                node.register_prehook(lambda _: start.append(calls.calls[BACKWARD]))

                def after(*_) -> None:
                    if calls.calls[BACKWARD] == start.pop():
                        raise _not_called("backward", BACKWARD, layer, label)
                node.register_hook(after)
            return y

    def conv(in_channels: int, out_channels: int, kernel_size: int, padding: int) -> Watched:
        return Watched(function_class, in_channels, out_channels, kernel_size, padding=padding)
    return conv


def check_one_step(function_class: type, namespace: dict, batch: int = 64) -> None:
    """One forward and backward pass of the CNN on ``batch`` digits, your layer vs nn.Conv2d.

    Both networks start from the same weights; the loss and the gradient of every parameter
    must agree to float64 round-off. Every use of the layer must call your NumPy functions.
    """
    data = capstone.digits()
    x, y = data.x_train[:batch], data.y_train[:batch]
    label = f"the CNN on {batch} digits"
    calls = PassThrough(namespace)
    theirs = capstone.make_cnn(capstone.torch_conv)
    yours = capstone.make_cnn(_watched_conv(function_class, calls, label))
    losses = []
    with substituted(namespace, **calls.functions):
        for model in (theirs, yours):
            loss = run(lambda m: F.cross_entropy(m(x), y), model, label=label, who="the network")
            run(loss.backward, label=label, who="the network")
            losses.append(loss.item())
    compare("the loss", np.array(losses[1]), np.array(losses[0]), label, BACKWARD_TOL)
    print(f"  ok  loss {losses[1]:.6f} with your layer, {losses[0]:.6f} with nn.Conv2d")
    for (name, mine), (_, truth) in zip(yours.named_parameters(), theirs.named_parameters(),
                                        strict=True):
        error = _compare(f"the gradient of {name}", mine.grad, truth.grad.numpy(), label)
        print(f"  ok  gradient of {name:8s} {tuple(mine.shape)}: relative error {error:.0e}")
    print("Passed: one training step of your CNN is nn.Conv2d's, to float64 round-off.")


def check_training(function_class: type, namespace: dict, bar: float = TRAINING_BAR,
                   time_limit: float = TRAINING_SECONDS) -> None:
    """Train the CNN built on your layer; the test accuracy must reach ``bar`` in ``time_limit``.

    The initial weights and the batches follow the grading seed (0 unless the instructor sets
    one); a run that passes the time limit is stopped there. Every use of the layer, in every
    step, must call your NumPy functions.
    """
    seed, label = grading_seed(), "the digits CNN"
    calls = PassThrough(namespace)
    model = capstone.make_cnn(_watched_conv(function_class, calls, f"{label}, in training"),
                              seed=seed)
    with substituted(namespace, **calls.functions):
        curves = run(capstone.train, model, capstone.digits(), label=label, who="training",
                     seed=seed, time_limit=time_limit)
    for epoch, acc in enumerate(curves.test_accuracy, 1):
        print(f"  epoch {epoch:2d}: test accuracy {acc:.3f}")
    steps = len(curves.step_loss)
    if not curves.finished:
        raise TooSlow(
            f"training stopped at the time limit, {time_limit:g} s, after {steps} steps of "
            f"{capstone.EPOCHS} epochs: your layer is too slow (the course's im2col layer takes "
            "about 1 s for the whole run). Vectorise conv2d_forward_fast and conv2d_backward_fast "
            "as in notebook 06.")
    if not np.all(np.isfinite(curves.step_loss)):
        raise CheckFailure("the training loss became NaN or inf: check your layer with "
                           "check_one_step, which compares one step with nn.Conv2d.")
    final = curves.test_accuracy[-1]
    if final < bar:
        raise CheckFailure(
            f"test accuracy {final:.3f} after {capstone.EPOCHS} epochs, below the bar {bar:g}: "
            "the same network with nn.Conv2d reaches about 0.95 or more. If one training step "
            "matches nn.Conv2d (the visible test), look for a gradient that is right only on the "
            "shapes of that step.")
    print(f"Passed: test accuracy {final:.3f} >= {bar:g} after {steps} steps, in "
          f"{curves.seconds:.1f} s (limit {time_limit:g} s).")


# --------------------------------------------------------------------------------------------
# The honest numerical gradient


def _kink_case(name: str, param: str) -> tuple[capstone.KinkNet, str]:
    net = capstone.kink_net(name, **KINK_NETS[name])
    shape = getattr(net, param).shape
    return net, f"the kink network {name}, theta = its {param} {shape}"


def _mask_failure(crossed: np.ndarray, plus: np.ndarray, minus: np.ndarray, label: str) -> str:
    truth = plus | minus
    missed, extra = truth & ~crossed, crossed & ~truth
    if np.array_equal(crossed, plus) or np.array_equal(crossed, minus):
        side = "+" if np.array_equal(crossed, plus) else "-"
        return (f"crossed flags only the steps theta {side} eps e_i that change the pattern "
                f"(on {label}): the step to the other side can cross a kink too. A central "
                "difference uses both: compare the pattern at theta + eps e_i and at "
                "theta - eps e_i with the pattern at theta.")
    if missed.any():
        first = tuple(int(i) for i in np.argwhere(missed)[0])
        return (f"crossed is False at {int(missed.sum())} coordinates whose step crosses a kink, "
                f"first {first} (on {label}): crossed[i] is True when the pattern at "
                "theta + eps e_i or at theta - eps e_i differs from the pattern at theta "
                "(compare them with np.array_equal).")
    first = tuple(int(i) for i in np.argwhere(extra)[0])
    return (f"crossed is True at {int(extra.sum())} coordinates where neither step changes the "
            f"pattern, first {first} (on {label}): compare each stepped pattern with the "
            "pattern at theta itself, and restore theta before the next coordinate.")


def check_honest_gradient(honest_numerical_gradient: Callable,
                          cases: Iterable[tuple[str, str]] = HONEST_CASES) -> None:
    """``(grad, crossed)`` on kink networks: the mask of kink-crossing steps, exactly, and the
    central differences on every other coordinate, against autograd.

    ``theta`` must be left exactly as it was; ``grad`` is float64 and ``crossed`` bool, both of
    ``theta``'s shape. The loss weights its residuals randomly (no all-ones upstream gradient).
    """
    passed = []
    for name, param in cases:
        net, label = _kink_case(name, param)
        theta = getattr(net, param).copy()
        result = call_safely(honest_numerical_gradient, net.loss_and_pattern(param), theta,
                             label=label, eps=HONEST_EPS)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise CheckFailure(f"honest_numerical_gradient should return (grad, crossed), got "
                               f"{type(result).__name__} (on {label}).")
        grad = as_float_array("grad", result[0], label)
        crossed = np.asarray(result[1])
        if grad.dtype != np.float64:
            raise CheckFailure(f"grad has dtype {grad.dtype} (on {label}): return float64.")
        if crossed.dtype != bool:
            raise CheckFailure(f"crossed has dtype {crossed.dtype} (on {label}): return a "
                               "boolean array (np.zeros(theta.shape, dtype=bool)).")
        for what, array in (("grad", grad), ("crossed", crossed)):
            if array.shape != theta.shape:
                raise CheckFailure(f"{what} has shape {array.shape}, expected theta's shape "
                                   f"{theta.shape} (on {label}).")
        changed = theta != getattr(net, param)
        if changed.any():
            size = float(np.max(np.abs(theta - getattr(net, param))))
            raise CheckFailure(
                f"honest_numerical_gradient left theta changed at {int(changed.sum())} "
                f"coordinates, by up to {size:.1g} (on {label}): save each original value and "
                "put it back (theta[i] = old): stepping back by arithmetic (+eps, -2 eps, +eps) "
                "does not always return the same float.")
        plus, minus = net.crossings(param, HONEST_EPS)
        smooth = ~(plus | minus)
        truth = net.gradient(param)
        error = scaled_error(grad[smooth], truth[smooth]) if smooth.any() else 0.0
        if error > HONEST_TOL:
            one_sided = ("\nLikely cause: an error of this size is what a one-sided difference "
                         "(L(theta + eps e_i) - L(theta)) / eps gives: use "
                         "(L(theta + eps e_i) - L(theta - eps e_i)) / (2 eps)."
                         if 1e-8 < error < 1e-3 else "")
            raise CheckFailure(f"grad is wrong on {label}, at the coordinates whose steps cross "
                               f"no kink: relative error {error:.2g} (tolerance {HONEST_TOL:g})."
                               f"{one_sided}")
        if not np.array_equal(crossed, plus | minus):
            raise CheckFailure(_mask_failure(crossed, plus, minus, label))
        passed.append(f"{label}: {int(crossed.sum())} of {crossed.size} steps cross a kink and "
                      f"are flagged; the others match autograd (relative error {error:.0e}); "
                      "theta unchanged")
    report(passed, f"autograd where no step crosses a kink (tolerance {HONEST_TOL:g})")
