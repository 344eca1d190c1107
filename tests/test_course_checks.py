"""The helper library on its own: references agree with finite differences, checks are sharp."""

import numpy as np
import pytest
from conftest import solution_namespace

from autograder.author import submissions
from course import cases, checks, forward_checks, reference


def implementation(assignment: str, name: str) -> dict:
    """A catalogue variant's functions, executed."""
    variant = next(v for v in submissions.catalogue(assignment) if v.name == name)
    namespace: dict = {}
    exec(compile(variant.code, variant.name, "exec"), namespace)  # noqa: S102 (our catalogue)
    return namespace


@pytest.fixture(scope="module")
def solution01():
    return solution_namespace("01_forward")


def test_reference_backward_passes_the_adjoint_and_finite_difference_tests():
    case = cases.ConvCase("ref", 6, 7, 3, 2, stride=2, pad=1, N=2, C=3, F=4)
    data = cases.arrays(case)
    dx, dw, db = reference.conv2d_backward(data.dout, data.x, data.w, case.stride, case.pad)

    def loss(x, w):
        return np.sum(reference.conv2d(x, w, None, case.stride, case.pad) * data.dout)

    # Adjoint: <conv(x), dout> = <x, dx> for a bias-free linear map, exact up to round-off.
    assert abs(loss(data.x, data.w) - np.sum(data.x * dx)) < 1e-12 * np.abs(dx).sum()
    # Central differences on a few entries of x and w (the loss is linear: exact but round-off).
    rng = np.random.default_rng(0)
    for target, grad in ((data.x, dx), (data.w, dw)):
        for index in map(tuple, rng.integers(0, target.shape, size=(5, target.ndim))):
            step = np.zeros_like(target)
            step[index] = 1e-5
            args = (target + step, data.w) if target is data.x else (data.x, target + step)
            minus = (target - step, data.w) if target is data.x else (data.x, target - step)
            numeric = (loss(*args) - loss(*minus)) / 2e-5
            assert numeric == pytest.approx(grad[index], rel=1e-7, abs=1e-9)
    assert np.allclose(db, data.dout.sum(axis=(0, 2, 3)))


def test_cases_are_seeded_and_the_instructor_seed_changes_them(monkeypatch):
    case = cases.SINGLE["basic"][0]
    monkeypatch.delenv(cases.SEED_VARIABLE, raising=False)
    first, again = cases.arrays(case), cases.arrays(case)
    assert np.array_equal(first.x, again.x) and np.array_equal(first.dout, again.dout)
    monkeypatch.setenv(cases.SEED_VARIABLE, "spring-2027")
    assert not np.array_equal(first.x, cases.arrays(case).x)


def test_every_case_has_a_unique_name():
    names = [c.name for group in cases.SINGLE.values() for c in group]
    assert len(names) == len(set(names))


def test_solution_passes_every_forward_check(solution01, capsys):
    forward = solution01["conv2d_single_forward"]
    for group in cases.SINGLE.values():
        forward_checks.check_single_forward(forward, group)
        forward_checks.check_single_forward(forward, group, bias=True)
    checks.check_rejects(forward, forward_checks.single_forward_bad_inputs())
    assert "Passed" in capsys.readouterr().out


@pytest.mark.parametrize("bug, group, phrase", [
    ("bug_convolution", "basic", "true convolution"),
    ("bug_stride_ignored", "stride", "stride-1 result"),
    ("bug_pad_one_side", "pad", "shape"),
])
def test_forward_bugs_fail_with_an_explanation(bug, group, phrase):
    forward = implementation("01_forward", bug)["conv2d_single_forward"]
    with pytest.raises(checks.CheckFailure, match=phrase):
        forward_checks.check_single_forward(forward, cases.SINGLE[group])


def test_missing_bias_is_named(solution01):
    def no_bias(x, w, b=0.0, stride=1, pad=0):
        return solution01["conv2d_single_forward"](x, w, 0.0, stride, pad)

    forward_checks.check_single_forward(no_bias, cases.SINGLE["basic"])
    with pytest.raises(checks.CheckFailure, match="bias b is missing"):
        forward_checks.check_single_forward(no_bias, cases.SINGLE["basic"], bias=True)


def test_integer_output_in_place_edits_and_stubs_are_refused(solution01):
    forward = solution01["conv2d_single_forward"]

    def integer_output(x, w, b=0.0, stride=1, pad=0):
        return forward(x, w, b, stride, pad).astype(int)

    def edits_input(x, w, b=0.0, stride=1, pad=0):
        y = forward(x, w, b, stride, pad)
        x *= 2
        return y

    def stub(x, w, b=0.0, stride=1, pad=0):
        raise NotImplementedError()

    group = cases.SINGLE["basic"]
    with pytest.raises(checks.CheckFailure, match="dtype int"):
        forward_checks.check_single_forward(integer_output, group)
    with pytest.raises(checks.CheckFailure, match="in place"):
        forward_checks.check_single_forward(edits_input, group)
    with pytest.raises(checks.CheckFailure, match="not implemented"):
        forward_checks.check_single_forward(stub, group)


@pytest.mark.parametrize("bug, phrase", [
    ("bug_output_size_no_plus_one", r"\+1 is missing"),
    ("bug_output_size_rounds_up", "round down"),
    ("bug_output_size_float", "return an int"),
])
def test_output_size_bugs_fail_with_an_explanation(bug, phrase):
    size = implementation("01_forward", bug)["conv_output_size"]
    with pytest.raises(checks.CheckFailure, match=phrase):
        forward_checks.check_output_size(
            size, cases.OUTPUT_SIZE["basic"] + cases.OUTPUT_SIZE["stride_pad"])


def test_a_function_that_accepts_bad_input_fails_the_rejection_check(solution01):
    def accepts_anything(*args, **kwargs):
        return np.zeros((1, 1))

    with pytest.raises(checks.CheckFailure, match="expected a ValueError"):
        checks.check_rejects(accepts_anything, forward_checks.single_forward_bad_inputs())
