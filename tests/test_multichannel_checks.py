"""Notebook 05's checks on their own: the solution passes, each known bug fails with its reason."""

import contextlib
import io

import numpy as np
import pytest
from conftest import solution_namespace

from autograder.author import submissions
from course import (
    cases,
    checks,
    multichannel_checks,
    multichannel_plots,
    multichannel_quiz,
    reference,
)

MULTI = cases.MULTI
# The graded checks of each test cell of 05_channels.ipynb (visible and hidden parts together), as
# (function, check, arguments): kept in step with the notebook (tests/test_grading.py grades the
# real notebook through nbgrader; this is the fast, kernel-free mirror).
CELLS = {
    "test_forward_channels_filters": [
        ("conv2d_forward", multichannel_checks.check_forward, (MULTI["channels_filters"],))],
    "test_forward_bias": [
        ("conv2d_forward", multichannel_checks.check_forward, (MULTI["channels_filters"], True))],
    "test_forward_together": [
        ("conv2d_forward", multichannel_checks.check_forward,
         (MULTI["together"] + MULTI["forum"],))],
    "test_understanding_shapes": [
        ("gradient_shapes", multichannel_quiz.check_shapes, ("hidden",)),
        ("gradient_shapes", multichannel_checks.check_gradient_shapes,
         (MULTI["together"] + MULTI["stride_pad"],))],
    "test_understanding_sums": [("summed_axes", multichannel_checks.check_summed_axes, ())],
    "test_quiz_parameters": [
        ("parameter_count", multichannel_quiz.check_parameter_count, ("hidden",))],
    "test_quiz_correlations": [
        ("dw_correlations", multichannel_quiz.check_dw_correlations, ("hidden",))],
    "test_quiz_symptoms": [
        ("name_the_bug", multichannel_quiz.check_symptom_answers_readable, ()),
        ("name_the_bug", multichannel_quiz.check_symptoms, (["A", "B", "C"],))],
    "test_backward_bias": [
        ("conv2d_backward", multichannel_checks.check_backward,
         (MULTI["channels_filters"], ["db"]))],
    "test_backward_weights": [
        ("conv2d_backward", multichannel_checks.check_backward, (MULTI["single"], ["dw"]))],
    "test_backward_input": [
        ("conv2d_backward", multichannel_checks.check_backward, (MULTI["single"], ["dx"]))],
    "test_backward_channels": [
        ("conv2d_backward", multichannel_checks.check_backward,
         (MULTI["channels"], ["dw", "dx"]))],
    "test_backward_filters": [
        ("conv2d_backward", multichannel_checks.check_backward, (MULTI["filters"],))],
    "test_backward_batch": [
        ("conv2d_backward", multichannel_checks.check_backward, (MULTI["batch"],))],
    "test_backward_stride_pad": [
        ("conv2d_backward", multichannel_checks.check_backward, (MULTI["stride_pad"],))],
    "test_backward_together": [
        ("conv2d_backward", multichannel_checks.check_backward,
         (MULTI["together"] + MULTI["forum"],))],
}
VARIANTS = submissions.catalogue("05_channels")


@pytest.fixture(scope="module")
def solution() -> dict:
    return solution_namespace("05_channels")


def implementation(variant: submissions.Variant, solution: dict) -> dict:
    """The solution's functions with the variant's in their place."""
    namespace = dict(solution)
    exec(compile(variant.code, variant.name, "exec"), namespace)  # noqa: S102 (our catalogue)
    return namespace


def failed_cells(functions: dict) -> list[str]:
    failed = []
    for cell, steps in CELLS.items():
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                for name, check, args in steps:
                    check(functions[name], *args)
        except checks.CheckFailure:
            failed.append(cell)
    return sorted(failed)


def test_the_cells_cover_every_graded_cell_of_the_notebook():
    import nbformat

    from autograder import course_root

    path = course_root.notebooks(course_root.REPO_ROOT, "05_channels")[0]
    graded = {c.metadata["nbgrader"]["grade_id"] for c in nbformat.read(path, as_version=4).cells
              if c.metadata.get("nbgrader", {}).get("grade")}
    assert graded == set(CELLS)


def test_solution_passes_every_cell_and_prints_what_it_checked(solution, capsys):
    assert failed_cells(solution) == []
    multichannel_checks.check_backward(solution["conv2d_backward"], MULTI["forum"])
    out = capsys.readouterr().out
    assert "x (1,5,100,100), w (10,5,5,5)" in out
    assert "Passed: 1 of 1 cases match PyTorch's autograd in dx, dw, db" in out


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_catalogue_variant_fails_exactly_its_cells(variant, solution):
    assert failed_cells(implementation(variant, solution)) == sorted(variant.expected_failures)


@pytest.mark.parametrize("bug, function, check, args, phrase", [
    ("bug_dw_channel0_everywhere", "conv2d_backward", multichannel_checks.check_backward,
     (MULTI["channels"], ["dw"]), "dw\\[f, c\\] used input channel 0 for every c"),
    ("bug_dx_no_filter_sum", "conv2d_backward", multichannel_checks.check_backward,
     (MULTI["filters"], ["dx"]), "the last filter's contribution only"),
    ("bug_batch_averaged", "conv2d_backward", multichannel_checks.check_backward,
     (MULTI["batch"], ["dw"]), "your dw is divided by N"),
    ("bug_batch_averaged", "conv2d_backward", multichannel_checks.check_backward,
     (MULTI["batch"], ["db"]), "your db is divided by N"),
    ("bug_dw_filters_channels_swapped", "conv2d_backward", multichannel_checks.check_backward,
     (MULTI["channels"], ["dw"]), r"has shape \(3, 1, 3, 3\).*\n.*filter and channel axes swapped"),
    ("bug_db_summed_over_filters", "conv2d_backward", multichannel_checks.check_backward,
     (MULTI["channels_filters"], ["db"]), "you summed over the filters"),
    ("bug_forward_bias_per_channel", "conv2d_forward", multichannel_checks.check_forward,
     (MULTI["channels_filters"], True), "once per input channel"),
    ("bug_gradient_shapes_dw_channels_first", "gradient_shapes",
     multichannel_checks.check_gradient_shapes, (MULTI["forum"],), "dw has the shape of w"),
    ("bug_summed_axes_dx_over_batch", "summed_axes", multichannel_checks.check_summed_axes,
     (["dx"],), "dx keeps the batch axis.*adds up what all F filters"),
    ("bug_quiz_dilation_ignored", "gradient_shapes", multichannel_quiz.check_shapes,
     ("visible",), "dilation \\* \\(K - 1\\) \\+ 1"),
    ("bug_quiz_groups_ignored", "parameter_count", multichannel_quiz.check_parameter_count,
     ("hidden",), "C / groups"),
    ("bug_quiz_correlations_per_pair", "dw_correlations", multichannel_quiz.check_dw_correlations,
     ("visible",), "for every example, filter and channel"),
    ("bug_quiz_symptoms_swapped", "name_the_bug", multichannel_quiz.check_symptoms,
     (["A", "B", "C"],), "where the error is zero"),
])

def test_bug_fails_with_its_misconception(bug, function, check, args, phrase, solution):
    variant = next(v for v in VARIANTS if v.name == bug)
    with pytest.raises(checks.CheckFailure, match=phrase):
        check(implementation(variant, solution)[function], *args)


def test_each_symptom_has_the_zeros_its_bug_leaves():
    errors = multichannel_quiz.symptom_errors()
    by_bug = {bug: errors[letter][1] for letter, bug in multichannel_quiz.SYMPTOMS.items()}
    assert np.all(by_bug["channel0"][:, 0] == 0) and np.all(by_bug["channel0"][:, 1:] != 0)
    overwrite = by_bug["overwrite"]
    assert np.abs(overwrite[..., [0, 0, -1, -1], [0, -1, 0, -1]]).max() < 1e-12
    assert np.abs(overwrite).max() > 1
    assert np.all(by_bug["batch_mean"] != 0)


def replaced(solution: dict, part: str, value):
    """The solution's backward with one of (dx, dw, db) replaced by ``value(dout, x, w)``."""
    def backward(dout, x, w, stride=1, pad=0):
        result = dict(zip(multichannel_checks.PARTS, solution["conv2d_backward"](
            dout, x, w, stride, pad), strict=True))
        result[part] = value(dout, x, w)
        return tuple(result[p] for p in multichannel_checks.PARTS)
    return backward


@pytest.mark.parametrize("part, value, group, phrase", [
    ("dx", lambda d, x, w: reference.conv2d_backward(d[:, :1], x, w[:1])[0], "filters",
     "filter 0's contribution only"),
    ("dx", lambda d, x, w: reference.conv2d_backward(d, x, w)[0] / w.shape[0], "filters",
     "divided by F"),
    ("dx", lambda d, x, w: reference.conv2d_backward(d, x, w)[0] / x.shape[0], "batch",
     "each example has its own dx"),
    ("dx", lambda d, x, w: reference.conv2d_backward(d, x, w[:, [0] * x.shape[1]])[0], "channels",
     "kernel slices W\\[f, c\\] of its own channel"),
    ("dx", lambda d, x, w: reference.conv2d_backward(d, x, w[..., ::-1, ::-1])[0], "single",
     "rotated by 180 degrees"),
    ("dw", lambda d, x, w: reference.conv2d_backward(d[:1], x[:1], w)[1], "batch",
     "example 0's contribution only"),
    ("dw", lambda d, x, w: reference.conv2d_backward(d[-1:], x[-1:], w)[1], "batch",
     "last example's contribution only"),
    ("dw", lambda d, x, w: np.broadcast_to(reference.conv2d_backward(
        d.sum(axis=1, keepdims=True), x, w[:1])[1], w.shape), "filters", "every filter got the "
     "same dw"),
    ("dw", lambda d, x, w: reference.conv2d_backward(d, x, w)[1][..., ::-1, ::-1], "single",
     "dW needs no flip"),
    ("db", lambda d, x, w: d.sum(axis=(2, 3)), "batch", "still has the batch axis"),
    ("db", lambda d, x, w: d[0].sum(axis=(1, 2)), "batch", "example 0 only"),
    ("db", lambda d, x, w: d.sum(), "channels_filters", "there are F biases"),
    ("db", lambda d, x, w: d.mean(axis=(0, 2, 3)), "channels_filters", "a sum, not a mean"),
])
def test_other_wrong_gradients_are_named(solution, part, value, group, phrase):
    with pytest.raises(checks.CheckFailure, match=phrase):
        multichannel_checks.check_backward(replaced(solution, part, value), MULTI[group], [part])


def test_wrong_forward_passes_are_named():
    def forward(change):
        def conv2d_forward(x, w, b, stride=1, pad=0):
            args = {"x": x, "w": w, "b": b, "stride": stride, "pad": pad} | change(x, w, b)
            return reference.conv2d(**args)
        return conv2d_forward

    wrong = [
        (lambda x, w, b: {"b": np.zeros_like(b)}, True, "the bias is missing"),
        (lambda x, w, b: {"x": x[:, [0] * x.shape[1]]}, False, "applied to input channel 0"),
        (lambda x, w, b: {"x": x[:, :1], "w": w[:, :1]}, False, "only input channel 0"),
        (lambda x, w, b: {"x": x[:, -1:], "w": w[:, -1:]}, False, "only the last input channel"),
    ]
    for change, bias, phrase in wrong:
        with pytest.raises(checks.CheckFailure, match=phrase):
            multichannel_checks.check_forward(forward(change), MULTI["channels_filters"], bias)
    with pytest.raises(checks.CheckFailure, match="computed from x\\[0\\]"):
        multichannel_checks.check_forward(forward(lambda x, w, b: {"x": x[[0] * x.shape[0]]}),
                                          MULTI["batch"])
    with pytest.raises(checks.CheckFailure, match="stride-1 result"):
        multichannel_checks.check_forward(forward(lambda x, w, b: {"stride": 1}),
                                          MULTI["stride_pad"][:1])
    with pytest.raises(checks.CheckFailure, match="ignores the padding"):
        multichannel_checks.check_forward(forward(lambda x, w, b: {"pad": 0}),
                                          MULTI["stride_pad"][1:2])


def test_a_wrong_dw_prints_the_error_of_each_slice(solution, capsys):
    bug = next(v for v in VARIANTS if v.name == "bug_dw_channel0_everywhere")
    with pytest.raises(checks.CheckFailure):
        multichannel_checks.check_backward(implementation(bug, solution)["conv2d_backward"],
                                           MULTI["channels"], ["dw"])
    out = capsys.readouterr().out
    assert "Relative error of each dw[f, c] slice" in out
    first_row = next(line for line in out.splitlines() if line.strip().startswith("f=0"))
    errors = [float(e) for e in first_row.split()[1:]]
    assert errors[0] < 1e-9 and min(errors[1:]) > 0.1  # right on channel 0 only


def test_malformed_results_stubs_and_float32_are_refused(solution):
    backward = solution["conv2d_backward"]

    def stub(dout, x, w, stride=1, pad=0):
        raise NotImplementedError()

    def two_results(dout, x, w, stride=1, pad=0):
        return backward(dout, x, w, stride, pad)[:2]

    def dx_missing(dout, x, w, stride=1, pad=0):
        return None, *backward(dout, x, w, stride, pad)[1:]

    def float32(dout, x, w, stride=1, pad=0):
        return tuple(np.float32(a) for a in backward(dout, x, w, stride, pad))

    def edits_x(dout, x, w, stride=1, pad=0):
        result = backward(dout, x, w, stride, pad)
        x[...] = 0.0
        return result

    for fn, phrase in [(stub, "not implemented"), (two_results, r"tuple \(dx, dw, db\)"),
                       (dx_missing, "numpy array of floats"), (float32, "float32.*float64"),
                       (edits_x, "in place")]:
        with pytest.raises(checks.CheckFailure, match=phrase):
            multichannel_checks.check_backward(fn, MULTI["single"][:1])
    # A missing dx costs the cells that grade dx only.
    multichannel_checks.check_backward(dx_missing, MULTI["single"], ["dw"])


def test_understanding_answers_in_every_accepted_form_and_wrong_forms_refused():
    def answers(dx, dw, db):
        return lambda gradient: {"dx": dx, "dw": dw, "db": db}[gradient]

    multichannel_checks.check_summed_axes(answers(("F", "HO", "WO"), [0, 2, 3], ("wo", "ho", "n")))
    for bad, phrase in [({"F", "HO", "WO"}, "return a tuple"), (("F", "F", "HO", "WO"), "once"),
                        (("F", "H", "W"), "return a tuple"), ((1, 2, 3, 4), "return a tuple")]:
        with pytest.raises(checks.CheckFailure, match=phrase):
            multichannel_checks.check_summed_axes(answers(bad, (0, 2, 3), (0, 2, 3)), ["dx"])
    with pytest.raises(checks.CheckFailure, match="the weights are shared"):
        multichannel_checks.check_summed_axes(answers(None, ("HO", "WO"), None), ["dw"])
    with pytest.raises(checks.CheckFailure, match="one bias per filter"):
        multichannel_checks.check_summed_axes(answers(None, None, ("N", "F", "HO", "WO")), ["db"])

    def shapes(db_shape):
        return lambda x_shape, w_shape, stride=1, pad=0: (
            (1, 10, 96, 96), x_shape, w_shape, db_shape)

    multichannel_checks.check_gradient_shapes(shapes(np.array([10])), MULTI["forum"])
    for bad in (10, (1, 10), (10.0,)):
        with pytest.raises(checks.CheckFailure, match="db"):
            multichannel_checks.check_gradient_shapes(shapes(bad), MULTI["forum"])


def test_the_tolerances_separate_float64_from_float32_and_catch_every_named_bug():
    case = MULTI["forum"][0]
    data = cases.arrays(case, "tolerance")
    dx64, dw64, _ = reference.conv2d_backward(data.dout, data.x, data.w)
    dx32, dw32, _ = reference.conv2d_backward(*(a.astype(np.float32).astype(np.float64)
                                                for a in (data.dout, data.x, data.w)))
    assert checks.scaled_error(dw32, dw64) > 10 * multichannel_checks.BACKWARD_TOL
    # A correct float32 forward pass is well inside the forward tolerance.
    out32 = reference.conv2d(data.x.astype(np.float32), data.w.astype(np.float32))
    out64 = reference.conv2d(data.x, data.w)
    assert checks.scaled_error(out32, out64) < multichannel_checks.FORWARD_TOL / 10


def test_weight_gradient_matches_autograd_and_the_correlation_helpers():
    case = cases.ConvCase("plots", 9, 8, 4, 3, N=2, C=3, F=4)
    data = cases.arrays(case)
    dw = reference.conv2d_backward(data.dout, data.x, data.w)[1]
    assert checks.scaled_error(multichannel_plots.weight_gradient(data.dout, data.x), dw) < 1e-12
    dx = reference.conv2d_backward(data.dout, data.x, data.w)[0]
    sent_back = multichannel_plots.dx_contributions(data.dout, data.x, data.w, n=1)
    assert checks.scaled_error(sent_back.sum(axis=0), dx[1]) < 1e-12
    same = np.stack([np.stack([data.x[0, 0]] * 3)] * 2)
    assert multichannel_plots.cross_channel_correlation(same) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    assert abs(multichannel_plots.cross_channel_correlation(
        rng.standard_normal((4, 5, 40, 40)))) < 0.05


def test_multichannel_case_names_are_unique_and_the_groups_isolate_their_axis():
    every = [c for group in MULTI.values() for c in group]
    names = [c.name for c in every] + [c.name for g in cases.SINGLE.values() for c in g]
    assert len(names) == len(set(names))
    assert all(c.N == c.C == c.F == 1 for c in MULTI["single"] + MULTI["stride_pad"])
    assert all(c.C > 1 and c.N == c.F == 1 for c in MULTI["channels"])
    assert all(c.F > 1 and c.N == c.C == 1 for c in MULTI["filters"])
    assert all(c.N > 1 and c.C == c.F == 1 for c in MULTI["batch"])
    assert all(c.C != c.F and c.C > 1 for c in MULTI["channels_filters"] + MULTI["together"])
    assert all(c.N >= 2 for c in MULTI["together"])
    forum = MULTI["forum"][0]
    assert (forum.N, forum.C, forum.H, forum.W, forum.F, forum.KH, forum.KW, forum.out_hw) == (
        1, 5, 100, 100, 10, 5, 5, (96, 96))
