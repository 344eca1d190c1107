"""Notebook 09's checks on their own: the solution passes, each known bug fails with its reason."""

import contextlib
import io

import nbformat
import numpy as np
import pytest
from conftest import solution_namespace

from autograder import course_root
from autograder.author import submissions
from course import checks, dilation_groups_checks, dilation_groups_plots
from course import dilation_groups_reference as ref
from course.dilation_groups_cases import GROUPED, TRANSPOSED, GroupedCase, grouped_arrays

ASSIGNMENT = "09_dilation_groups"
BACKWARD, T_FORWARD, T_BACKWARD = ("conv2d_backward", "conv_transpose2d_forward",
                                   "conv_transpose2d_backward")
ALL_TRANSPOSED = [c for group in TRANSPOSED.values() for c in group]
# The graded checks of each test cell of the notebook (visible and hidden parts together), as
# (function, check, arguments): the fast, kernel-free mirror of tests/test_grading.py.
CELLS = {
    "test_backward_plain": (BACKWARD, dilation_groups_checks.check_backward,
                            (GROUPED["plain"],)),
    "test_backward_dilation_dw": (BACKWARD, dilation_groups_checks.check_backward,
                                  (GROUPED["dilation"], ["dw"])),
    "test_backward_dilation_dx": (BACKWARD, dilation_groups_checks.check_backward,
                                  (GROUPED["dilation"], ["dx"])),
    "test_backward_groups_dw": (BACKWARD, dilation_groups_checks.check_backward,
                                (GROUPED["groups"], ["dw"])),
    "test_backward_groups_dx": (BACKWARD, dilation_groups_checks.check_backward,
                                (GROUPED["groups"], ["dx"])),
    "test_backward_together": (BACKWARD, dilation_groups_checks.check_backward,
                               (GROUPED["together"],)),
    "test_transpose_forward_basic": (T_FORWARD, dilation_groups_checks.check_transpose_forward,
                                     (TRANSPOSED["basic"],)),
    "test_transpose_forward_stride_pad": (T_FORWARD,
                                          dilation_groups_checks.check_transpose_forward,
                                          (TRANSPOSED["stride_pad"],)),
    "test_transpose_forward_output_padding": (T_FORWARD,
                                              dilation_groups_checks.check_transpose_forward,
                                              (TRANSPOSED["output_padding"],)),
    "test_transpose_backward_dx": (T_BACKWARD, dilation_groups_checks.check_transpose_backward,
                                   (ALL_TRANSPOSED, ["dx"])),
    "test_transpose_backward_dw": (T_BACKWARD, dilation_groups_checks.check_transpose_backward,
                                   (ALL_TRANSPOSED, ["dw"])),
}
VARIANTS = submissions.catalogue(ASSIGNMENT)


@pytest.fixture(scope="module")
def solution() -> dict:
    return solution_namespace(ASSIGNMENT)


def implementation(variant: submissions.Variant, solution: dict) -> dict:
    """The solution's functions with the variant's in their place."""
    namespace = dict(solution)
    exec(compile(variant.code, variant.name, "exec"), namespace)  # noqa: S102 (our catalogue)
    return namespace


def failed_cells(functions: dict) -> list[str]:
    failed = []
    for cell, (name, check, args) in CELLS.items():
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                check(functions[name], *args)
        except checks.CheckFailure:
            failed.append(cell)
    return sorted(failed)


def test_the_cells_cover_every_graded_cell_of_the_notebook():
    path = course_root.notebooks(course_root.REPO_ROOT, ASSIGNMENT)[0]
    graded = {c.metadata["nbgrader"]["grade_id"] for c in nbformat.read(path, as_version=4).cells
              if c.metadata.get("nbgrader", {}).get("grade")}
    assert graded == set(CELLS)


def test_solution_passes_every_cell_and_prints_what_it_checked(solution, capsys):
    assert failed_cells(solution) == []
    dilation_groups_checks.check_backward(solution[BACKWARD], GROUPED["together"][:1])
    dilation_groups_checks.check_transpose_forward(solution[T_FORWARD], TRANSPOSED["upsampling"])
    out = capsys.readouterr().out
    assert "x (2,4,11,13), w (6,2,3,2), stride 2, pad 1, dilation 2, groups 2" in out
    assert "adjoint" in out and "Passed: 2 of 2 cases match PyTorch's conv_transpose2d" in out


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_catalogue_variant_fails_exactly_its_cells(variant, solution):
    assert failed_cells(implementation(variant, solution)) == sorted(variant.expected_failures)


def test_the_catalogue_has_five_bugs_and_three_alternatives():
    assert sum(v.is_bug for v in VARIANTS) >= 5
    assert sum(not v.is_bug for v in VARIANTS) >= 3


@pytest.mark.parametrize("bug, cell, phrase", [
    ("bug_groups_ignored_in_dx", "test_backward_groups_dx", "groups ignored in dx"),
    ("bug_dw_nonzero_outside_blocks", "test_backward_groups_dw",
     "dw is nonzero outside the group blocks: your dw is the dense layer's"),
    ("bug_dilation_on_input", "test_backward_dilation_dw",
     "dilation applied to the input instead of the kernel"),
    ("bug_dilation_on_input", "test_backward_dilation_dx",
     "dilation applied to the input instead of the kernel"),
    ("bug_dilation_forgotten_in_dx", "test_backward_dilation_dx", "dilation forgotten in dx"),
    ("bug_transpose_unrotated_kernel", "test_transpose_forward_basic", "kernel unrotated"),
    ("bug_transpose_output_padding_ignored", "test_transpose_forward_output_padding",
     "output_padding ignored"),
    ("bug_transpose_backward_dx_rotated", "test_transpose_backward_dx", "no rotation"),
    ("bug_transpose_backward_dw_swapped", "test_transpose_backward_dw", "input channels first"),
])
def test_bug_fails_with_its_misconception(bug, cell, phrase, solution):
    variant = next(v for v in VARIANTS if v.name == bug)
    name, check, args = CELLS[cell]
    with pytest.raises(checks.CheckFailure, match=phrase):
        check(implementation(variant, solution)[name], *args)


def replaced(solution: dict, part: str, value):
    """The solution's backward with ``part`` replaced by ``value(dout, x, w, settings)``."""
    def backward(dout, x, w, stride=1, pad=0, dilation=1, groups=1):
        settings = {"stride": stride, "pad": pad, "dilation": dilation, "groups": groups}
        result = dict(zip(("dx", "dw", "db"), solution[BACKWARD](dout, x, w, **settings),
                          strict=True))
        result[part] = value(dout, x, w, settings)
        return result["dx"], result["dw"], result["db"]
    return backward


def at(formula):
    """A wrong answer of gather_backward whose reads are ``formula(i, u, settings)``."""
    def value(dout, x, w, settings, part):
        return dilation_groups_checks.gather_backward(
            dout, x, w, settings["pad"], settings["groups"],
            lambda i, u: formula(i, u, settings))[("dx", "dw").index(part)]
    return value


@pytest.mark.parametrize("part, wrong, group, phrase", [
    ("dw", at(lambda i, u, s: i * s["dilation"] + u * s["stride"]), "stride_over_dilation",
     "stride and dilation swapped"),
    ("dw", at(lambda i, u, s: i * s["stride"] + u), "dilation", "dilation forgotten in dw"),
    ("dx", lambda d, x, w, s, p: ref.conv2d_backward(d, x, w[..., ::-1, ::-1], **s)[0],
     "dilation", "dilated kernel rotated by 180 degrees"),
    ("dw", lambda d, x, w, s, p: ref.conv2d_backward(
        d, x[:, np.tile(np.arange(w.shape[1]), s["groups"])], w, **s)[1], "groups",
     "used the channels of group 0"),
])
def test_other_wrong_backward_answers_are_named(solution, part, wrong, group, phrase):
    def value(dout, x, w, settings):
        return wrong(dout, x, w, settings, part)

    # Swapped stride and dilation only read inside the input where the stride is the larger.
    cases = ([c for c in GROUPED["together"] if c.stride > c.dilation]
             if group == "stride_over_dilation" else GROUPED[group])
    with pytest.raises(checks.CheckFailure, match=phrase):
        dilation_groups_checks.check_backward(replaced(solution, part, value), cases, [part])


def test_dense_gradients_of_a_grouped_layer_are_named(solution):
    def dense(fold: bool, keep_blocks: bool):
        def value(dout, x, w, settings):
            G, (F, Cg) = settings["groups"], w.shape[:2]
            w_dense = np.concatenate([w] * G, axis=1)
            dw = ref.conv2d_backward(dout, x, w_dense, settings["stride"], settings["pad"],
                                     settings["dilation"])[1]
            if keep_blocks:
                dw = dw * np.kron(np.eye(G), np.ones((F // G, Cg)))[:, :, None, None]
            return dw.reshape(F, G, Cg, *w.shape[2:]).sum(axis=1) if fold else dw
        return value

    for fold, keep, phrase in [(True, False, "adds the gradients of channel c' of EVERY group"),
                               (False, True, "block-diagonal F x C picture")]:
        with pytest.raises(checks.CheckFailure, match=phrase):
            dilation_groups_checks.check_backward(replaced(solution, "dw", dense(fold, keep)),
                                                  GROUPED["groups"], ["dw"])


def test_interleaved_groups_are_named(solution):
    def interleaved(dout, x, w, settings):
        C, G = x.shape[1], settings["groups"]
        order = np.arange(C).reshape(C // G, G).T.ravel()
        return ref.conv2d_backward(dout, x[:, order], w, **settings)[1]

    with pytest.raises(checks.CheckFailure, match="every groups-th channel"):
        dilation_groups_checks.check_backward(replaced(solution, "dw", interleaved),
                                              GROUPED["groups"][:1], ["dw"])


def test_wrong_transposed_forward_passes_are_named():
    def forward(change):
        def conv_transpose2d_forward(x, w, stride=1, pad=0, output_padding=0):
            return change(x, w, stride, pad, output_padding)
        return conv_transpose2d_forward

    wrong = [
        (lambda x, w, s, p, op: ref.conv_transpose2d(x, w, s, 0, op), TRANSPOSED["stride_pad"],
         "pad CROPS the output"),
        (lambda x, w, s, p, op: ref.conv_transpose2d(x, w, 1, p, 0), TRANSPOSED["stride_pad"],
         "stride ignored"),
        (lambda x, w, s, p, op: np.pad(ref.conv_transpose2d(x, w, s, p, 0),
                                       ((0, 0), (0, 0), (op, op), (op, op))),
         TRANSPOSED["output_padding"], "bottom and right only"),
        (lambda x, w, s, p, op: ref.conv_transpose2d(x, w.transpose(1, 0, 2, 3).copy(), s, p,
                                                     op),
         [c for c in ALL_TRANSPOSED if c.C_in == c.C_out], "input channels first"),
    ]
    for change, cases, phrase in wrong:
        with pytest.raises(checks.CheckFailure, match=phrase):
            dilation_groups_checks.check_transpose_forward(forward(change), cases)


def test_wrong_transposed_backward_answers_are_named():
    def backward(change, part):
        def conv_transpose2d_backward(dout, x, w, stride=1, pad=0, output_padding=0):
            dx, dw = ref.conv_transpose2d_backward(dout, x, w, stride, pad, output_padding)
            wrong = change(dout, x, w, dx, dw, stride, pad, output_padding)
            return (wrong, dw) if part == "dx" else (dx, wrong)
        return conv_transpose2d_backward

    def unpadded(dout, x, w, dx, dw, s, p, op):
        shifted = np.pad(dout, ((0, 0), (0, 0), (p, p), (p, p)))[..., 2 * p:, 2 * p:]
        return ref.conv_transpose2d_backward(shifted, x, w, s, p, op)[1]

    for change, part, phrase in [
            (lambda d, x, w, dx, dw, s, p, op: dx / x.shape[0], "dx", "its own dx"),
            (lambda d, x, w, dx, dw, s, p, op: dw[..., ::-1, ::-1], "dw", "no rotation"),
            (lambda d, x, w, dx, dw, s, p, op: dw / x.shape[0], "dw", "sums the examples"),
            (unpadded, "dw", "padded by pad on every side")]:
        with pytest.raises(checks.CheckFailure, match=phrase):
            dilation_groups_checks.check_transpose_backward(backward(change, part),
                                                            TRANSPOSED["upsampling"], [part])


def test_malformed_results_and_float32_are_refused(solution):
    def float32(dout, x, w, **settings):
        return tuple(np.float32(a) for a in solution[BACKWARD](dout, x, w, **settings))

    def one_result(dout, x, w, **settings):
        return solution[T_BACKWARD](dout, x, w, **settings)[0]

    with pytest.raises(checks.CheckFailure, match="float32.*float64"):
        dilation_groups_checks.check_backward(float32, GROUPED["plain"][:1])
    with pytest.raises(checks.CheckFailure, match=r"tuple \(dx, dw\)"):
        dilation_groups_checks.check_transpose_backward(one_result, TRANSPOSED["basic"][:1])


def test_the_modelled_gather_is_autograd_when_it_reads_the_right_taps():
    for case in GROUPED["together"]:
        a = grouped_arrays(case, "model")
        dx, dw = dilation_groups_checks.gather_backward(
            a["dout"], a["x"], a["w"], case.pad, case.groups,
            lambda i, u, c=case: i * c.stride + u * c.dilation)
        truth = ref.conv2d_backward(a["dout"], a["x"], a["w"], case.stride, case.pad,
                                    case.dilation, case.groups)
        assert checks.scaled_error(dx, truth[0]) < 1e-12
        assert checks.scaled_error(dw, truth[1]) < 1e-12


def test_the_tolerance_separates_float64_from_float32():
    case = GROUPED["together"][-1]
    a = grouped_arrays(case, "tolerance")
    settings = {"stride": case.stride, "pad": case.pad, "dilation": case.dilation,
                "groups": case.groups}
    dw64 = ref.conv2d_backward(a["dout"], a["x"], a["w"], **settings)[1]
    dw32 = ref.conv2d_backward(*(a[k].astype(np.float32).astype(np.float64)
                                 for k in ("dout", "x", "w")), **settings)[1]
    assert checks.scaled_error(dw32, dw64) > 10 * dilation_groups_checks.BACKWARD_TOL


def test_the_adjoint_gap_is_round_off_for_the_truth_and_large_for_a_bug():
    a = grouped_arrays(GROUPED["together"][0], "adjoint")
    case = GROUPED["together"][0]
    settings = {"stride": case.stride, "pad": case.pad, "dilation": case.dilation,
                "groups": case.groups}
    out = ref.conv2d(a["x"], a["w"], **settings)
    dx = ref.conv2d_backward(a["dout"], a["x"], a["w"], **settings)[0]
    assert dilation_groups_checks.adjoint_gap(out, a["dout"], a["x"], dx) < 1e-14
    assert dilation_groups_checks.adjoint_gap(out, a["dout"], a["x"], 2 * dx) > 1e-3


def test_conv_matrix_and_dilated_kernel():
    kernel = np.arange(1.0, 10.0).reshape(3, 3)
    A = ref.conv_matrix((5, 6), kernel, stride=2)
    x = np.random.default_rng(0).standard_normal((5, 6))
    y = ref.conv2d(x[None, None], kernel[None, None], stride=2)[0, 0]
    assert A.shape == (y.size, x.size) and np.allclose(A @ x.ravel(), y.ravel())
    g = np.random.default_rng(1).standard_normal(y.shape)
    up = ref.conv_transpose2d(g[None, None], kernel[None, None], stride=2,
                              output_padding=(0, 1))   # 5 = (2-1)*2 + 3 rows, 6 columns
    assert np.allclose(A.T @ g.ravel(), up[0, 0].ravel())
    spread = dilation_groups_plots.dilated_kernel(kernel[None], 3)
    assert spread.shape == (1, 7, 7) and np.array_equal(spread[0, ::3, ::3], kernel)
    assert np.count_nonzero(spread) == 9


def test_case_groups_isolate_their_concept():
    assert all(c.dilation == 1 and c.groups == 1 for c in GROUPED["plain"])
    assert all(c.dilation > 1 and c.groups == 1 for c in GROUPED["dilation"])
    assert all(c.groups > 1 and c.dilation == c.stride == 1 and c.pad == 0
               for c in GROUPED["groups"])
    assert any(c.groups == c.C for c in GROUPED["groups"])          # depthwise
    together = GROUPED["together"]
    assert all(c.N >= 2 and c.dilation > 1 and c.groups > 1 for c in together)
    assert any(c.H != c.W for c in together) and any(c.KH != c.KW for c in together)
    assert any(c.groups == c.C for c in together)
    assert any((c.H + 2 * c.pad - c.dilation * (c.KH - 1) - 1) % c.stride for c in together)
    assert all(c.C % c.groups == 0 and c.F % c.groups == 0
               for group in GROUPED.values() for c in group)
    assert all(c.output_padding == 0 for c in TRANSPOSED["basic"] + TRANSPOSED["stride_pad"])
    assert all(c.output_padding > 0 and c.pad == 0 for c in TRANSPOSED["output_padding"])
    assert all(c.output_padding < c.stride for c in ALL_TRANSPOSED)
    names = [c.name for group in (*GROUPED.values(), *TRANSPOSED.values()) for c in group]
    assert len(names) == len(set(names))
    for case in (c for group in GROUPED.values() for c in group):
        out = ref.conv2d(np.zeros((1, case.C, case.H, case.W)),
                         np.zeros((case.F, case.C // case.groups, case.KH, case.KW)),
                         stride=case.stride, pad=case.pad, dilation=case.dilation,
                         groups=case.groups)
        assert out.shape[2:] == case.out_hw, case.name
    assert isinstance(GROUPED["plain"][0], GroupedCase)
