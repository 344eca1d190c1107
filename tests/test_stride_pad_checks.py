"""Notebook 04's checks on their own: the solution passes, each known bug fails with its reason."""

import contextlib
import io

import numpy as np
import pytest
from conftest import solution_namespace

from autograder.author import submissions
from course import backward_checks, cases, checks, reference, stride_pad_checks

GROUPS = cases.SINGLE_STRIDED
STRIDED = "conv2d_single_backward_strided"


def _backward(group, part):
    return lambda fn: backward_checks.check_single_backward(fn, GROUPS[group], part, strided=True)


# The test cells of the notebook, as (function, checks): kept in step with 04_stride_pad.ipynb
# (tests/test_grading.py grades the real notebook; this is the fast, kernel-free mirror).
CELLS = {
    "test_strided_stride": (STRIDED, [_backward("stride", "dx"), _backward("stride", "dw")]),
    "test_strided_pad": (STRIDED, [_backward("pad", "dx"), _backward("pad", "dw")]),
    "test_strided_nondivisible": (STRIDED, [_backward("nondivisible", "dx"),
                                            _backward("nondivisible", "dw")]),
    "test_strided_nonsquare": (STRIDED, [_backward("nonsquare", "dx"),
                                         _backward("nonsquare", "dw")]),
    "test_strided_db": (STRIDED, [_backward("db", "db")]),
    "test_fix_im2col": ("fixed_im2col", [
        lambda fn: stride_pad_checks.check_im2col(fn, GROUPS["seed_im2col"])]),
    "test_fix_crop": ("fixed_col2im", [
        lambda fn: stride_pad_checks.check_col2im(fn, GROUPS["seed_crop"])]),
    "test_fix_stride": ("fixed_col2im", [
        lambda fn: stride_pad_checks.check_col2im(fn, GROUPS["seed_stride"])]),
    "test_fix_scatter": ("fixed_col2im", [
        lambda fn: stride_pad_checks.check_col2im(fn, GROUPS["seed_scatter"])]),
}


@pytest.fixture(scope="module")
def solution():
    return solution_namespace("04_stride_pad")


def variant_namespace(name: str, solution: dict) -> dict:
    """The solution's functions, with a catalogue variant's replacing theirs."""
    variant = next(v for v in submissions.catalogue("04_stride_pad") if v.name == name)
    namespace = dict(solution)
    exec(compile(variant.code, variant.name, "exec"), namespace)  # noqa: S102 (our catalogue)
    return namespace


def failed_cells(namespace: dict) -> list[str]:
    failed = []
    for cell, (function, cell_checks) in CELLS.items():
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                for check in cell_checks:
                    check(namespace[function])
        except checks.CheckFailure:
            failed.append(cell)
    return sorted(failed)


def failure(check, fn) -> str:
    with pytest.raises(checks.CheckFailure) as raised:
        check(fn)
    return str(raised.value)


def test_solution_passes_every_cell_and_prints_what_it_checked(solution, capsys):
    assert failed_cells(solution) == []
    backward_checks.check_single_backward(solution[STRIDED], GROUPS["pad"], "dx", strided=True)
    out = capsys.readouterr().out
    assert "x 6x6, w 3x3, stride 1, pad 0, random dout 4x4: dx relative error" in out
    assert "Passed: 6 of 6 cases match PyTorch's autograd in dx" in out


@pytest.mark.parametrize("variant", submissions.catalogue("04_stride_pad"), ids=lambda v: v.name)
def test_catalogue_variant_fails_exactly_its_cells(variant, solution):
    assert failed_cells(variant_namespace(variant.name, solution)) == \
        sorted(variant.expected_failures)


@pytest.mark.parametrize("bug, group, part, phrase", [
    ("bug_stride_ignored", "stride", "dx", "Likely cause: stride ignored: your dx is what stride"),
    ("bug_stride_ignored", "stride", "dw", "Likely cause: stride ignored: your dw"),
    ("bug_crop_empty_at_pad0", "pad", "dx", r"shape \(0, 0\).*\n.*at pad 0 your crop is EMPTY"),
    ("bug_dx_overwrites", "stride", "dx", r"= instead of \+="),
    ("bug_height_for_width", "nonsquare", "dx", "height and width mixed up: your dx has H columns"),
    ("bug_dout_not_dilated", "stride", "dx", "dY not dilated: you full-correlated dout"),
    ("bug_dout_not_dilated", "stride", "dw", "dY not dilated: you slid dout as it is"),
    ("bug_pad_hardcoded_1", "pad", "dx", "pad hard-coded to 1: your dx is right at pad 1 only"),
    ("bug_pad_hardcoded_1", "pad", "dw", "pad hard-coded to 1: your dw"),
    ("bug_leftover_rows_dropped", "nondivisible", "dx", "missing its last rows or columns"),
    ("bug_asserts_stride_divides", "nondivisible", "dx",
     r"raised ValueError.*\nTo check: Here the stride 3 does not divide H \+ 2 pad - KH = 8"),
])
def test_bug_fails_with_its_misconception(bug, group, part, phrase, solution):
    fn = variant_namespace(bug, solution)[STRIDED]
    check = _backward(group, part)
    assert pytest.raises(checks.CheckFailure, check, fn).match(phrase)


def test_crashes_say_what_to_check_for_pad_0_and_non_square_cases(solution):
    def crop_then_reshape(dout, x, w, stride=1, pad=0):
        dx, dw, db = solution[STRIDED](np.asarray(dout), x, w, stride, pad)
        dx_pad = np.pad(dx, pad)
        return dx_pad[pad:-pad, pad:-pad].reshape(x.shape), dw, db

    message = failure(_backward("pad", "dx"), crop_then_reshape)
    assert "raised ValueError" in message and "This case has pad 0" in message
    assert "[0:-0] is [0:0]" in message

    def kernel_height_for_width(dout, x, w, stride=1, pad=0):
        KH = w.shape[0]
        return solution[STRIDED](dout, x, w[:, :KH] if w.shape[1] >= KH else w, stride, pad)

    message = failure(_backward("nonsquare", "dw"), kernel_height_for_width)
    assert "H != W and KH != KW" in message


def test_dout_read_transposed_is_named_where_the_output_is_square(solution):
    def transposed(dout, x, w, stride=1, pad=0):
        return reference.conv2d_single_backward(np.ascontiguousarray(dout.T), x, w, stride, pad)

    group = [c for c in GROUPS["nonsquare"] if c.out_hw[0] == c.out_hw[1]]
    assert group, "the nonsquare group needs a case whose output is square"
    for part in ("dx", "dw"):
        message = failure(lambda fn, p=part: backward_checks.check_single_backward(
            fn, group, p, strided=True), transposed)
        assert "you read dout[j, i]" in message


def test_other_crops_are_named(solution):
    def cropped(how):
        def backward(dout, x, w, stride=1, pad=0):
            dx_pad = reference.conv2d_single_backward(dout, np.pad(x, pad), w, stride, 0)[0]
            _, dw, db = solution[STRIDED](dout, x, w, stride, pad)
            return how(dx_pad, x.shape, pad), dw, db
        return backward

    H_W_pad = [
        (lambda d, s, p: d, "still has the padding"),
        (lambda d, s, p: d[:s[0], :s[1]], "cropped from the wrong place"),
        (lambda d, s, p: d[2 * p:, 2 * p:], "cropped from the wrong place"),
    ]
    pad1 = [c for c in GROUPS["pad"] if c.pad == 1]
    for how, phrase in H_W_pad:
        message = failure(lambda fn: backward_checks.check_single_backward(
            fn, pad1, "dx", strided=True), cropped(how))
        assert phrase in message


def test_seed_bugs_are_named(solution):
    seeds = variant_namespace("bug_seed_code_unchanged", solution)
    message = failure(CELLS["test_fix_im2col"][1][0], seeds["fixed_im2col"])
    assert "raised AssertionError: width does not fit" in message
    assert "(W + 2 pad - KH) % stride = 1)" in message
    message = failure(CELLS["test_fix_crop"][1][0], seeds["fixed_col2im"])
    assert "shape (0, 0)" in message and "crop is EMPTY" in message
    for name, cell, phrase in [
        ("bug_seed_stride_kept", "test_fix_stride", "stride forgotten"),
        ("bug_seed_overwrite_kept", "test_fix_scatter", r"overwrote dx_pad (=)"),
        ("bug_seed_crop_one", "test_fix_crop", "hard-coded to 1"),
    ]:
        fn = variant_namespace(name, solution)["fixed_col2im"]
        assert phrase in failure(CELLS[cell][1][0], fn)
    stride_and_overwrite = failure(CELLS["test_fix_stride"][1][0], seeds["fixed_col2im"])
    assert "Likely cause: two things" in stride_and_overwrite


def test_references_agree_with_plain_loops():
    rng = np.random.default_rng(0)
    for case in GROUPS["seed_stride"] + GROUPS["seed_im2col"]:
        x = rng.standard_normal((case.H, case.W))
        HO, WO = case.out_hw
        s, p, KH, KW = case.stride, case.pad, case.KH, case.KW
        x_pad = np.pad(x, p)
        loops = np.array([x_pad[i * s:i * s + KH, j * s:j * s + KW].ravel()
                          for i in range(HO) for j in range(WO)])
        cols = stride_pad_checks.im2col(x, KH, KW, s, p)
        assert np.array_equal(cols, loops)
        # col2im is the adjoint of im2col: <im2col(x), c> = <x, col2im(c)>.
        c = rng.standard_normal(cols.shape)
        back = stride_pad_checks.col2im(c, x.shape, KH, KW, s, p)
        assert abs(np.sum(cols * c) - np.sum(x * back)) < 1e-12 * np.abs(c).sum()


def test_groups_isolate_their_concept():
    def leftover(c):
        return ((c.H + 2 * c.pad - c.KH) % c.stride, (c.W + 2 * c.pad - c.KW) % c.stride)

    assert {c.pad for c in GROUPS["pad"]} >= {0, 2} and {c.stride for c in GROUPS["pad"]} == {1}
    for group in ("stride", "nondivisible", "nonsquare", "db"):
        assert {c.pad for c in GROUPS[group]} == {1}, group
    assert all(leftover(c) == (0, 0) and c.H == c.W for c in GROUPS["stride"])
    assert any(min(leftover(c)) > c.pad for c in GROUPS["nondivisible"])
    assert all(c.stride == 1 and c.H != c.W and c.KH != c.KW for c in GROUPS["nonsquare"])
    assert all((c.W + 2 * c.pad - c.KH) % c.stride for c in GROUPS["seed_im2col"])
    assert all(leftover(c) == (0, 0) for c in GROUPS["seed_im2col"])
    assert all(c.stride == 1 and (c.KH == c.KW == 1 or c.out_hw == (1, 1))
               for c in GROUPS["seed_crop"])
    assert any(c.pad == 0 for c in GROUPS["seed_crop"])
    assert all(c.KH <= c.stride and c.KW <= c.stride and c.pad == 1 for c in GROUPS["seed_stride"])
    assert all(c.stride == 1 and c.pad == 1 and max(c.KH, c.KW) > 1
               for c in GROUPS["seed_scatter"])
