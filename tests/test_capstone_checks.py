"""Notebook 07's checks alone: the solution passes, known wrong wrappers and gradients fail, and the
stand-ins of the wrapper checks never outlive a check."""

import contextlib
import io

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder import cells, course_root
from autograder.author import submissions
from course import capstone, capstone_checks, cases, checks, digits_net, reference, verdict_checks

ASSIGNMENT = "07_capstone"
FORWARD, BACKWARD = capstone_checks.FORWARD, capstone_checks.BACKWARD

# The test cells of the notebook, visible and hidden parts together: kept in step with
# 07_capstone.ipynb (tests/test_grading.py grades the real notebook through nbgrader; this is the
# fast, kernel-free mirror). Each cell depends on the names listed with it.
CELLS = {
    "test_wrapper_gradcheck": ({"Conv2dFunction"}, lambda ns: (
        capstone_checks.check_wrapper_gradcheck(ns["Conv2dFunction"], ns))),
    "test_wrapper_uses_your_code": ({"Conv2dFunction"}, lambda ns: (
        capstone_checks.check_wrapper_uses_your_code(ns["Conv2dFunction"], ns,
                                                     capstone_checks.WRAPPER_CASES))),
    "test_wrapper_details": ({"Conv2dFunction"}, lambda ns: [
        capstone_checks.check_wrapper_details(ns["Conv2dFunction"], ns, case)
        for case in capstone_checks.DETAILS_CASES]),
    "test_training": ({"Conv2dFunction", FORWARD, BACKWARD}, lambda ns: (
        capstone_checks.check_one_step(ns["Conv2dFunction"], ns),
        capstone_checks.check_training(ns["Conv2dFunction"], ns))),
    "test_honest_gradient": ({"honest_numerical_gradient"}, lambda ns: (
        capstone_checks.check_honest_gradient(ns["honest_numerical_gradient"]))),
    **{f"test_verdict_{group}": ({"gradient_verdict"}, lambda ns, group=group: (
        verdict_checks.check_gradient_verdict(ns["gradient_verdict"], group)))
       for group in ("kinks", "wrong", "scale")},
}


def notebook_namespace() -> dict:
    """The source notebook's import cell and solution cells, run: the notebook as graded."""
    namespace: dict = {}
    for path in course_root.notebooks(course_root.REPO_ROOT, ASSIGNMENT):
        source = nbformat.read(path, as_version=4)
        for cell in source.cells:
            if cell.cell_type == "code" and cells.is_import_cell(cell.source):
                exec(cells.without_magics(cell.source), namespace)  # noqa: S102 (our notebook)
        for code in submissions.solution_cells(source).values():
            exec(compile(code, str(path), "exec"), namespace)  # noqa: S102 (our solutions)
    return namespace


@pytest.fixture(scope="module")
def solution() -> dict:
    return notebook_namespace()


def failed_cells(namespace: dict, names: set[str] | None = None) -> list[str]:
    """The cells that fail; with ``names``, only the cells depending on them are run (the others
    run the solution's code, which passes them all)."""
    failed = []
    for cell, (depends, check) in CELLS.items():
        if names is not None and not depends & names:
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                check(namespace)
        except checks.CheckFailure:
            failed.append(cell)
    return sorted(failed)


# --------------------------------------------------------------------------------------------
# Correct implementations of this test file, and wrappers that let PyTorch differentiate


def numpy_forward(x, w, b, stride=1, pad=0):
    """A plain NumPy forward pass (windows and einsum), the layer the wrappers below call."""
    KH, KW = w.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(x_pad, (KH, KW), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]
    return np.einsum("ncijuv,fcuv->nfij", windows, w) + b[None, :, None, None]


conv2d_forward_fast = numpy_forward
conv2d_backward_fast = capstone_checks.trusted_backward


class GoodFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b, stride=1, pad=0):
        ctx.save_for_backward(x, w)
        ctx.stride, ctx.pad = stride, pad
        y = conv2d_forward_fast(x.detach().numpy(), w.detach().numpy(), b.detach().numpy(),
                                stride, pad)
        return torch.from_numpy(np.ascontiguousarray(y))

    @staticmethod
    def backward(ctx, dy):
        x, w = ctx.saved_tensors
        grads = conv2d_backward_fast(dy.numpy(), x.detach().numpy(), w.detach().numpy(),
                                     ctx.stride, ctx.pad)
        return (*(torch.from_numpy(np.ascontiguousarray(g)) for g in grads), None, None)


def torch_gradients(how: str):
    """A wrapper whose forward calls conv2d_forward_fast, but whose gradient PyTorch computes."""
    def gradients(dy, x, w, stride, pad):
        if how == "called, then ignored":
            conv2d_backward_fast(dy.numpy(), x.detach().numpy(), w.detach().numpy(), stride, pad)
            return gradients_of("nn.grad", dy, x, w, stride, pad)
        return gradients_of(how, dy, x, w, stride, pad)

    class TorchBackward(GoodFunction):
        @staticmethod
        def backward(ctx, dy):
            x, w = ctx.saved_tensors
            return (*gradients(dy, x, w, ctx.stride, ctx.pad), None, None)

    return TorchBackward


def gradients_of(how: str, dy, x, w, stride: int, pad: int):
    """``(dx, dw, db)`` by one of PyTorch's own routes."""
    if how == "nn.grad":
        return (torch.nn.grad.conv2d_input(x.shape, w, dy, stride=stride, padding=pad),
                torch.nn.grad.conv2d_weight(x, w.shape, dy, stride=stride, padding=pad),
                dy.sum(dim=(0, 2, 3)))
    if how == "conv_transpose2d":
        extra = tuple((n + 2 * pad - k) % stride for n, k in zip(x.shape[2:], w.shape[2:],
                                                                  strict=True))
        dx = F.conv_transpose2d(dy, w, stride=stride, padding=pad, output_padding=extra)
        dw = torch.nn.grad.conv2d_weight(x, w.shape, dy, stride=stride, padding=pad)
        return dx, dw, dy.sum(dim=(0, 2, 3))
    if how == "aten":
        return torch.ops.aten.convolution_backward(
            dy, x, w, [w.shape[0]], [stride] * 2, [pad] * 2, [1, 1], False, [0, 0], 1,
            [True, True, True])
    with torch.enable_grad():  # autograd through F.conv2d
        x_, w_ = x.detach().requires_grad_(), w.detach().requires_grad_()
        b_ = torch.zeros(w.shape[0], dtype=w.dtype, requires_grad=True)
        return torch.autograd.grad(F.conv2d(x_, w_, b_, stride=stride, padding=pad),
                                   (x_, w_, b_), dy)


def honest(loss_and_pattern, theta, eps=1e-6):
    """A straightforward honest numerical gradient: the reference for the kink networks."""
    grad, crossed = np.zeros(theta.shape), np.zeros(theta.shape, dtype=bool)
    pattern = loss_and_pattern(theta)[1]
    for i in np.ndindex(theta.shape):
        old = theta[i]
        results = []
        for value in (old + eps, old - eps):
            theta[i] = value
            results.append(loss_and_pattern(theta))
        theta[i] = old
        grad[i] = (results[0][0] - results[1][0]) / (2 * eps)
        crossed[i] = any(not np.array_equal(p, pattern) for _, p in results)
    return grad, crossed


# --------------------------------------------------------------------------------------------
# The solution, the catalogue


def test_solution_passes_every_cell(solution):
    assert failed_cells(solution) == []
    assert solution[FORWARD].__name__ == FORWARD and solution[BACKWARD].__name__ == BACKWARD


def test_solution_prints_what_it_checked(solution, capsys):
    capstone_checks.check_wrapper_gradcheck(solution["Conv2dFunction"], solution)
    capstone_checks.check_honest_gradient(solution["honest_numerical_gradient"])
    out = capsys.readouterr().out
    assert "Passed: 4 of 4 cases match PyTorch's convolution, and gradcheck" in out
    assert "steps cross a kink and are flagged" in out and "theta unchanged" in out


@pytest.mark.parametrize("variant", submissions.catalogue(ASSIGNMENT), ids=lambda v: v.name)
def test_catalogue_variant_fails_exactly_its_cells(variant):
    namespace = notebook_namespace()  # not a copy: the solution's class reads this namespace
    exec(compile(variant.code, variant.name, "exec"), namespace)  # noqa: S102 (our catalogue)
    assert failed_cells(namespace, set(variant.functions)) == sorted(variant.expected_failures)


# --------------------------------------------------------------------------------------------
# The wrapper checks


def test_substituted_restores_the_namespace_even_on_failure():
    def mine():
        return "mine"

    namespace = {"f": mine}
    with pytest.raises(checks.CheckFailure), \
            capstone_checks.substituted(namespace, f=len, g=len):
        assert namespace["f"] is len and namespace["g"] is len
        raise checks.CheckFailure("a failing check")
    assert namespace == {"f": mine}


def test_a_failing_check_puts_the_students_functions_back():
    class Broken(GoodFunction):
        @staticmethod
        def backward(ctx, dy):
            raise ValueError("boom")

    for check in (capstone_checks.check_wrapper_gradcheck,
                  capstone_checks.check_wrapper_uses_your_code,
                  capstone_checks.check_wrapper_details):
        with pytest.raises(checks.CheckFailure, match="boom"):
            check(Broken, globals())
        assert globals()[FORWARD] is numpy_forward
        assert globals()[BACKWARD] is capstone_checks.trusted_backward


def test_a_right_wrapper_passes(capsys):
    capstone_checks.check_wrapper_gradcheck(GoodFunction, globals())
    capstone_checks.check_wrapper_uses_your_code(GoodFunction, globals())
    capstone_checks.check_wrapper_details(GoodFunction, globals())
    assert "gradcheck passes" in capsys.readouterr().out


@pytest.mark.parametrize("how, why", [
    ("autograd of F.conv2d", "backward never called it"),
    ("nn.grad", "backward never called it"),
    ("conv_transpose2d", "backward never called it"),
    ("aten", "backward never called it"),
    ("called, then ignored", "x.grad is PyTorch's own gradient"),
])
def test_a_gradient_from_pytorch_fails_only_the_provenance_check(how, why):
    wrapper = torch_gradients(how)
    with contextlib.redirect_stdout(io.StringIO()):
        capstone_checks.check_wrapper_gradcheck(wrapper, globals())  # the gradient is right...
    with pytest.raises(checks.CheckFailure,
                       match=f"^the gradient did not come from conv2d_backward_fast: {why}"):
        capstone_checks.check_wrapper_uses_your_code(wrapper, globals())


@pytest.mark.parametrize("wrong, message", [
    ("three", "one value per input of forward"),
    ("swapped", "each gradient has the shape of its input"),
    ("float32", "dtype torch.float32"),
    ("stride", "called with stride=1, pad=0"),
])
def test_wrapper_mistakes_get_their_message(wrong, message):
    class Wrong(GoodFunction):
        @staticmethod
        def forward(ctx, x, w, b, stride=1, pad=0):
            y = GoodFunction.forward(ctx, x, w, b, stride, pad)
            if wrong == "stride":
                ctx.stride, ctx.pad = 1, 0
            return y.float() if wrong == "float32" else y

        @staticmethod
        def backward(ctx, dy):
            dx, dw, db, _, _ = GoodFunction.backward(ctx, dy)
            return {"three": (dx, dw, db), "swapped": (dw, dx, db, None, None)}.get(
                wrong, (dx, dw, db, None, None))

    check = (capstone_checks.check_wrapper_uses_your_code if wrong == "stride"
             else capstone_checks.check_wrapper_gradcheck)
    with pytest.raises(checks.CheckFailure, match=message):
        check(Wrong, globals(), capstone_checks.WRAPPER_CASES[1:2])


# --------------------------------------------------------------------------------------------
# Training and the network


def test_student_conv_starts_where_nn_conv2d_does():
    theirs = capstone.make_cnn(capstone.torch_conv, seed=3)
    yours = capstone.make_cnn(capstone.student_conv(GoodFunction), seed=3)
    assert capstone.max_weight_difference(theirs, yours) == 0.0
    assert capstone.max_weight_difference(theirs, capstone.make_cnn(capstone.torch_conv)) > 0


def test_digits_split():
    data = capstone.digits()
    assert data.x_train.shape == (1437, 1, 8, 8) and data.x_test.shape == (360, 1, 8, 8)
    assert data.x_train.dtype == torch.float64 and float(data.x_train.max()) == 1.0
    assert sorted(set(data.y_test.tolist())) == list(range(10))


def test_training_stops_at_the_time_limit():
    with pytest.raises(checks.CheckFailure, match="stopped at the time limit"):
        capstone_checks.check_training(GoodFunction, globals(), time_limit=0.0)


def test_a_layer_without_bias_fails_one_step():
    def no_bias(x, w, b, stride=1, pad=0):
        return numpy_forward(x, w, np.zeros_like(b), stride, pad)

    with capstone_checks.substituted(globals(), **{FORWARD: no_bias}), \
            pytest.raises(checks.CheckFailure, match="the loss is wrong"):
        capstone_checks.check_one_step(GoodFunction, globals())


class ForwardByTorch(GoodFunction):
    """A wrapper whose forward is PyTorch's convolution; its backward calls the NumPy one."""

    @staticmethod
    def forward(ctx, x, w, b, stride=1, pad=0):
        ctx.save_for_backward(x, w)
        ctx.stride, ctx.pad = stride, pad
        return F.conv2d(x, w, b, stride=stride, padding=pad)


@pytest.mark.parametrize("check", [capstone_checks.check_one_step,
                                   capstone_checks.check_training])
@pytest.mark.parametrize("wrapper, method, name", [
    (ForwardByTorch, "forward", FORWARD),
    (torch_gradients("nn.grad"), "backward", BACKWARD),
])
def test_a_layer_that_skips_a_numpy_function_fails_the_training_test(check, wrapper, method,
                                                                      name):
    with pytest.raises(checks.CheckFailure,
                       match=f"^Conv2dFunction.{method} must call your {name}, by its name"):
        check(wrapper, globals())
    assert globals()[FORWARD] is numpy_forward  # the pass-throughs are gone
    assert globals()[BACKWARD] is capstone_checks.trusted_backward


def test_a_wrapper_that_uses_pytorch_while_its_functions_are_the_originals_runs_them(solution):
    """The red team's wrapper (bug_torch_unless_swapped) over the solution's NumPy layer: the
    training test's functions are not the originals, so its NumPy path runs, and passes."""
    variant = next(v for v in submissions.catalogue(ASSIGNMENT)
                   if v.name == "bug_torch_unless_swapped")
    namespace = dict(solution)
    exec(compile(variant.code, variant.name, "exec"), namespace)  # noqa: S102 (our catalogue)
    called = []

    def recorded(name):
        def function(*args, **kwargs):
            called.append(name)
            return solution[name](*args, **kwargs)
        return function

    namespace[FORWARD], namespace[BACKWARD] = recorded(FORWARD), recorded(BACKWARD)
    namespace["Conv2dFunction"].originals = (namespace[FORWARD], namespace[BACKWARD])
    with contextlib.redirect_stdout(io.StringIO()):
        capstone_checks.check_one_step(namespace["Conv2dFunction"], namespace)
    assert called.count(FORWARD) == called.count(BACKWARD) == 2  # two conv layers


# --------------------------------------------------------------------------------------------
# The kink networks and the honest gradient


@pytest.mark.parametrize("name", list(capstone_checks.KINK_NETS))
def test_kink_network_crossings_are_the_stepped_patterns(name):
    net = capstone.kink_net(name, **capstone_checks.KINK_NETS[name])
    for param in ("w", "b"):
        theta = getattr(net, param).copy()
        grad, crossed = honest(net.loss_and_pattern(param), theta)
        plus, minus = net.crossings(param, capstone_checks.HONEST_EPS)
        assert np.array_equal(crossed, plus | minus)
        assert 0 < crossed.sum() < crossed.size
        truth = net.gradient(param)
        assert checks.scaled_error(grad[~crossed], truth[~crossed]) < 1e-8
        assert checks.scaled_error(grad[crossed], truth[crossed]) > 1e-3  # the kinks matter


def test_honest_gradient_on_a_copy_is_right():
    capstone_checks.check_honest_gradient(honest)


@pytest.mark.parametrize("wrong, message", [
    ("plus side only", "flags only the steps theta \\+ eps"),
    ("all crossed", "crossed is True at"),
    ("float32 grad", "grad has dtype float32"),
    ("list crossed", "crossed has dtype"),
])
def test_honest_gradient_mistakes_get_their_message(wrong, message):
    def wrong_honest(loss_and_pattern, theta, eps=1e-6):
        grad, crossed = honest(loss_and_pattern, theta, eps)
        if wrong == "plus side only":
            pattern = loss_and_pattern(theta)[1]
            for i in np.ndindex(theta.shape):
                stepped = theta.copy()
                stepped[i] += eps
                crossed[i] = not np.array_equal(loss_and_pattern(stepped)[1], pattern)
        return {"all crossed": (grad, np.ones(theta.shape, dtype=bool)),
                "float32 grad": (grad.astype(np.float32), crossed),
                "list crossed": (grad, crossed.astype(int))}.get(wrong, (grad, crossed))

    with pytest.raises(checks.CheckFailure, match=message):
        capstone_checks.check_honest_gradient(wrong_honest)


def test_reference_conv_is_what_the_stand_ins_return():
    case = capstone_checks.WRAPPER_CASES[1]
    data = cases.arrays(case, "stand-ins")
    y = capstone_checks.flipped_forward(data.x, data.w, data.b, case.stride, case.pad)
    assert any(s < 0 for s in y.strides)
    assert np.array_equal(y, reference.conv2d(data.x, data.w, data.b, case.stride, case.pad))


# --------------------------------------------------------------------------------------------
# The verdict of an honest check (the deepnet issue's second complaint)


@pytest.mark.parametrize("group", ["kinks", "wrong", "scale"])
def test_verdict_cases_hold_their_verdict_and_defeat_the_signed_sum(group):
    for case in verdict_checks.verdict_cases(group):
        assert verdict_checks.honest_verdict(case.analytic, case.numeric, case.crossed) \
            == case.right, case.label
        if not case.right:
            worst = verdict_checks.relative_errors(case.analytic, case.numeric)[~case.crossed]
            assert worst.max() > 1e-3, f"{case.label}: wrong by too little to be sure"


def test_the_digits_network_crosses_kinks_on_raw_pixels_only_where_the_steps_are_long():
    raw, unit = digits_net.digits_net(), digits_net.digits_net(scale=1.0)
    assert raw.largest_step_of_z(1e-4) == pytest.approx(255e-4)
    for net, eps in [(raw, 1e-4), (unit, 1e-5)]:
        numeric, crossed = verdict_checks.central_differences(net.loss_and_pattern(), net.w, eps)
        errors = verdict_checks.relative_errors(net.gradient(), numeric)
        assert errors[~crossed].max() < 1e-6 and crossed.sum() < crossed.size / 4
    raw_numeric, raw_crossed = verdict_checks.central_differences(raw.loss_and_pattern(), raw.w,
                                                                  1e-4)
    assert raw_crossed.any() and abs(np.sum(raw.gradient() - raw_numeric)) > 1e-3


@pytest.mark.parametrize(("name", "group", "message"), [
    ("bug_verdict_signed_sum", "wrong", "signed sum"),
    ("bug_verdict_counts_crossed", "kinks", "crossed is True"),
    ("bug_verdict_absolute", "scale", "absolute difference")])
def test_verdict_mistakes_get_their_message(name, group, message):
    variant = next(v for v in submissions.catalogue(ASSIGNMENT) if v.name == name)
    namespace: dict = {}
    exec(compile(variant.code, name, "exec"), namespace)  # noqa: S102 (our catalogue)
    with pytest.raises(checks.CheckFailure, match=message):
        verdict_checks.check_gradient_verdict(namespace["gradient_verdict"], group)


class ForwardCalledThenDiscarded(GoodFunction):
    """Calls the NumPy forward, as the training test demands, then returns PyTorch's output."""

    @staticmethod
    def forward(ctx, x, w, b, stride=1, pad=0):
        ctx.save_for_backward(x, w)
        ctx.stride, ctx.pad = stride, pad
        globals()[FORWARD](x.detach().numpy(), w.detach().numpy(), b.detach().numpy(), stride,
                           pad)
        return F.conv2d(x, w, b, stride=stride, padding=pad)


def test_a_layer_that_discards_its_numpy_forward_fails_the_training_test():
    def zeros(x, w, b, stride=1, pad=0):  # a NumPy forward that is not written yet
        out = numpy_forward(x, w, b, stride, pad)
        return np.zeros_like(out)

    with capstone_checks.substituted(globals(), **{FORWARD: zeros}), \
            pytest.raises(checks.CheckFailure, match="must return what your conv2d_forward_fast"):
        capstone_checks.check_one_step(ForwardCalledThenDiscarded, globals())
