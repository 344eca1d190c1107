"""Notebook 06's checks alone: the solution passes, each catalogue variant fails its cells."""

import contextlib
import io

import numpy as np
import pytest
from conftest import solution_namespace

from autograder.author import submissions
from course import cases, checks, fast_checks, reference

# The test cells of the notebook: kept in step with 06_fast.ipynb (tests/test_grading.py grades
# the real notebook through nbgrader; this is the fast, kernel-free mirror).
CELLS = {
    "test_fast_basic": lambda fn: fast_checks.check_fast_backward(fn, cases.FAST["basic"]),
    "test_fast_stride": lambda fn: fast_checks.check_fast_backward(fn, cases.FAST["stride"]),
    "test_fast_pad": lambda fn: fast_checks.check_fast_backward(fn, cases.FAST["pad"]),
    "test_fast_stride_pad": lambda fn: fast_checks.check_fast_backward(
        fn, cases.FAST["stride_pad"]),
    "test_fast_nonsquare": lambda fn: fast_checks.check_fast_backward(
        fn, cases.FAST["nonsquare"]),
    "test_fast_speed": lambda fn: [fast_checks.check_speed(fn, case)
                                   for case in cases.FAST["speed"]],
}


def implementation(name: str):
    """A catalogue variant's ``conv2d_backward_fast``."""
    variant = next(v for v in submissions.catalogue("06_fast") if v.name == name)
    namespace: dict = {}
    exec(compile(variant.code, variant.name, "exec"), namespace)  # noqa: S102 (our catalogue)
    return namespace["conv2d_backward_fast"]


def failed_cells(backward) -> list[str]:
    failed = []
    for cell, check in CELLS.items():
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                check(backward)
        except checks.CheckFailure:
            failed.append(cell)
    return sorted(failed)


@pytest.fixture(scope="module")
def solution():
    return solution_namespace("06_fast")["conv2d_backward_fast"]


def test_solution_passes_every_cell_and_prints_what_it_checked(solution, capsys):
    assert failed_cells(solution) == []
    for group in ("basic", "nonsquare"):
        fast_checks.check_fast_backward(solution, cases.FAST[group])
    ratio = fast_checks.check_speed(solution, cases.FAST["speed"][0])
    out = capsys.readouterr().out
    assert "Passed: 4 of 4 cases match PyTorch's autograd" in out
    assert "random dout" in out and "times as fast as the loop" in out
    assert ratio >= 2 * fast_checks.REQUIRED_SPEEDUP  # a margin for a busy grading machine


def test_loop_yardstick_is_right():
    for group in ("stride_pad", "nonsquare"):
        for case in cases.FAST[group]:
            data = cases.arrays(case, "yardstick")
            got = fast_checks.loop_backward(data.dout, data.x, data.w, case.stride, case.pad)
            truth = reference.conv2d_backward(data.dout, data.x, data.w, case.stride, case.pad)
            for mine, expected in zip(got, truth, strict=True):
                assert checks.scaled_error(mine, expected) < 1e-12


def test_failures_name_the_misconception():
    def batch_averaged(dout, x, w, stride=1, pad=0):
        dx, dw, db = reference.conv2d_backward(dout, x, w, stride, pad)
        return dx, dw / x.shape[0], db

    with pytest.raises(checks.CheckFailure, match="sum over the batch, not the mean"):
        fast_checks.check_fast_backward(batch_averaged, cases.FAST["basic"][:1])


def test_a_float32_answer_fails():
    def float32(dout, x, w, stride=1, pad=0):
        return tuple(np.asarray(a, dtype=np.float32)
                     for a in reference.conv2d_backward(dout, x, w, stride, pad))

    with pytest.raises(checks.CheckFailure, match="float64"):
        fast_checks.check_fast_backward(float32, cases.FAST["basic"][:1])


@pytest.mark.parametrize("variant", submissions.catalogue("06_fast"), ids=lambda v: v.name)
def test_catalogue_variant_fails_exactly_its_cells(variant):
    assert failed_cells(implementation(variant.name)) == sorted(variant.expected_failures)
