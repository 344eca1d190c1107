"""Notebook 03's checks on their own: the solution passes, each known bug fails with its reason."""

import contextlib
import io

import numpy as np
import pytest
from conftest import solution_namespace

from autograder.author import submissions
from course import backward_checks, cases, checks, reference

SQUARE, NONSQUARE = cases.SINGLE_BACKWARD["square"], cases.SINGLE_BACKWARD["nonsquare"]
# The test cells of the notebook, as (part, case group) checks: kept in step with 03_backward.ipynb
# (tests/test_grading.py grades the real notebook; this is the fast, kernel-free mirror).
CELLS = {
    "test_backward_db": [("db", SQUARE)],
    "test_backward_dw": [("dw", SQUARE)],
    "test_backward_dx": [("dx", SQUARE)],
    "test_backward_nonsquare": [("dw", NONSQUARE), ("dx", NONSQUARE)],
}


def implementation(name: str):
    """A catalogue variant's ``conv2d_single_backward``."""
    variant = next(v for v in submissions.catalogue("03_backward") if v.name == name)
    namespace: dict = {}
    exec(compile(variant.code, variant.name, "exec"), namespace)  # noqa: S102 (our catalogue)
    return namespace["conv2d_single_backward"]


def failed_cells(backward) -> list[str]:
    failed = []
    for cell, parts in CELLS.items():
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                for part, group in parts:
                    backward_checks.check_single_backward(backward, group, part)
        except checks.CheckFailure:
            failed.append(cell)
    return sorted(failed)


@pytest.fixture(scope="module")
def solution():
    return solution_namespace("03_backward")["conv2d_single_backward"]


def test_solution_passes_every_part_and_prints_what_it_checked(solution, capsys):
    for part in backward_checks.PARTS:
        for group in (SQUARE, NONSQUARE):
            backward_checks.check_single_backward(solution, group, part)
    out = capsys.readouterr().out
    assert "Passed: 5 of 5 cases match PyTorch's autograd in dx" in out
    assert "random dout" in out


@pytest.mark.parametrize("variant", submissions.catalogue("03_backward"), ids=lambda v: v.name)
def test_catalogue_variant_fails_exactly_its_cells(variant):
    assert failed_cells(implementation(variant.name)) == sorted(variant.expected_failures)


@pytest.mark.parametrize("bug, part, group, phrase", [
    ("bug_dw_flipped_kernel", "dw", SQUARE, "dW needs no flip: your dw is the right one rotated"),
    ("bug_dw_roles_swapped", "dw", SQUARE, r"dY ⋆ X with the roles swapped"),
    ("bug_dw_convolution", "dw", SQUARE, "dW needs no flip: you slid dout rotated"),
    ("bug_dx_no_flip", "dx", SQUARE, "dX needs the kernel rotated by 180 degrees"),
    ("bug_dx_valid_correlation", "dx", SQUARE, "a valid correlation cropped the edges"),
    ("bug_dx_overwrites", "dx", SQUARE, r"= instead of \+="),
    ("bug_dx_np_pad_pairs", "dx", NONSQUARE, "before and KW-1 after on BOTH axes"),
    ("bug_db_is_dout", "db", SQUARE, "db should be one number.*\n.*db = sum of dout"),
    ("bug_db_mean", "db", SQUARE, "db is the sum of dout, not its mean"),
    ("bug_float32", "dx", SQUARE, "dtype float32.*compute gradients in float64"),
    ("bug_dw_kernel_height_for_width", "dw", NONSQUARE, "raised ValueError"),
])
def test_bug_fails_with_its_misconception(bug, part, group, phrase):
    with pytest.raises(checks.CheckFailure, match=phrase):
        backward_checks.check_single_backward(implementation(bug), group, part)


def test_other_wrong_answers_are_named(solution):
    def replace(part, value):
        def backward(dout, x, w):
            result = dict(zip(backward_checks.PARTS, solution(dout, x, w), strict=True))
            return tuple(value(dout, x, w) if p == part else result[p]
                         for p in backward_checks.PARTS)
        return backward

    wrong = [
        ("db", lambda dout, x, w: float(dout.size), "number of output pixels"),
        ("db", lambda dout, x, w: dout.sum(axis=0), "both axes"),
        ("dw", lambda dout, x, w: dout[-1, -1] * x[-w.shape[0]:, -w.shape[1]:],
         "only the last window"),
    ]
    for part, value, phrase in wrong:
        with pytest.raises(checks.CheckFailure, match=phrase):
            backward_checks.check_single_backward(replace(part, value), SQUARE, part)


def test_malformed_results_and_stubs_are_refused(solution):
    def stub(dout, x, w):
        raise NotImplementedError()

    def two_results(dout, x, w):
        return solution(dout, x, w)[:2]

    def dx_missing(dout, x, w):
        return None, *solution(dout, x, w)[1:]

    def edits_dout(dout, x, w):
        result = solution(dout, x, w)
        dout[0, 0] = 0.0
        return result

    for backward, phrase in [(stub, "not implemented"), (two_results, r"tuple \(dx, dw, db\)"),
                             (dx_missing, "numpy array of floats"), (edits_dout, "in place")]:
        with pytest.raises(checks.CheckFailure, match=phrase):
            backward_checks.check_single_backward(backward, SQUARE, "dx")
    # A missing dx costs the dx cell only: dw and db are still graded.
    backward_checks.check_single_backward(dx_missing, SQUARE, "dw")
    backward_checks.check_single_backward(dx_missing, SQUARE, "db")


def test_strided_cases_need_the_strided_call_and_then_work_for_notebook_04():
    def backward(dout, x, w, stride=1, pad=0):
        return reference.conv2d_single_backward(dout, x, w, stride, pad)

    with pytest.raises(ValueError, match="strided=True"):
        backward_checks.check_single_backward(backward, cases.SINGLE["stride_pad"], "dx")
    for part in backward_checks.PARTS:
        backward_checks.check_single_backward(backward, cases.SINGLE["stride_pad"], part,
                                              strided=True)


def test_the_tolerance_separates_float64_from_float32():
    case = SQUARE[0]
    data = cases.arrays(case, "tolerance")
    dout, x, w = data.dout[0, 0], data.x[0, 0], data.w[0, 0]
    dx64 = reference.conv2d_single_backward(dout, x, w)[0]
    dx32 = reference.conv2d_single_backward(*(a.astype(np.float32).astype(np.float64)
                                              for a in (dout, x, w)))[0]
    assert checks.scaled_error(dx32, dx64) > 10 * backward_checks.BACKWARD_TOL
