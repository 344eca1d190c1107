"""Notebook 08's checks alone: the truth they use, the solution passes, each catalogue variant
fails exactly its cells with the message of its misconception, and the network checks flag kinks
and see through a faked training run.

The test cells are read from the source notebook (visible and hidden parts together) and run in
this process: the fast, kernel-free mirror of tests/test_grading.py, which grades the real
notebook through nbgrader.
"""

import contextlib
import io

import nbformat
import numpy as np
import pytest

from autograder import cells, course_root
from autograder.author import submissions
from course import checks, pooling, pooling_checks, pooling_net, pooling_net_checks, reference

ASSIGNMENT = "08_pooling"
SOURCE = course_root.notebooks(course_root.REPO_ROOT, ASSIGNMENT)[0]
NETWORK = {"network_loss", "softmax_cross_entropy", "maxpool_forward", "maxpool_backward",
           "conv2d_forward_fast", "conv2d_backward_fast"}


def notebook() -> nbformat.NotebookNode:
    return nbformat.read(SOURCE, as_version=4)


def grading_cells() -> dict[str, str]:
    """Grade id -> source of every test cell, hidden tests included."""
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in notebook().cells
            if c.metadata.get("nbgrader", {}).get("grade")}


def depends_on(grade_id: str, code: str) -> set[str]:
    """The student functions a test cell runs, directly or through the network."""
    names = {n for n in NETWORK | {"train", "avgpool_backward"} if f"{n}(" in code or
             f"({n}," in code}
    if names & {"network_loss", "train"}:
        names |= NETWORK
    return names


def notebook_namespace(variant: str | None = None) -> dict:
    """The import cell and the solution cells, run (then a catalogue variant's code, whose
    definitions replace the solution's, as in the graded notebook)."""
    namespace: dict = {}
    nb = notebook()
    for cell in nb.cells:
        if cell.cell_type == "code" and cells.is_import_cell(cell.source):
            exec(cells.without_magics(cell.source), namespace)  # noqa: S102 (our notebook)
    for code in submissions.solution_cells(nb).values():
        exec(compile(code, str(SOURCE), "exec"), namespace)  # noqa: S102 (our solutions)
    if variant is not None:
        found = next(v for v in submissions.catalogue(ASSIGNMENT) if v.name == variant)
        exec(compile(found.code, found.name, "exec"), namespace)  # noqa: S102 (our catalogue)
    return namespace


@pytest.fixture(scope="module")
def solution() -> dict:
    return notebook_namespace()


def run_cells(namespace: dict, names: set[str] | None = None) -> dict[str, str]:
    """Failed cell -> its message; with ``names``, only the cells that run those functions."""
    failed = {}
    for grade_id, code in grading_cells().items():
        if names is not None and not depends_on(grade_id, code) & names:
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(code, dict(namespace))  # noqa: S102 (our notebook's tests)
        except Exception as error:
            failed[grade_id] = f"{type(error).__name__}: {error}"
    return failed


# --------------------------------------------------------------------------------------------
# The truth


def test_pytorch_routes_a_tie_to_the_first_maximum_in_row_major_order():
    """The convention the ties cell grades, measured again on every run (not assumed)."""
    rng = np.random.default_rng(8)
    for _ in range(60):
        KH, KW, stride = (int(n) for n in rng.integers(1, 4, 3))
        x = rng.integers(0, 2, (2, 2, KH + int(rng.integers(0, 5)),
                                KW + int(rng.integers(0, 5)))).astype(float)
        HO, WO = (x.shape[2] - KH) // stride + 1, (x.shape[3] - KW) // stride + 1
        dout = rng.standard_normal((2, 2, HO, WO))
        first = pooling_checks.route(dout, x, (KH, KW), (stride, stride),
                                     pooling_checks.first_max)
        assert np.array_equal(pooling.pool_backward("max", dout, x, (KH, KW), stride), first)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("group", list(pooling.POOL_CASES))
def test_the_adjoint_identity_holds_for_the_reference(kind, group):
    for case in pooling.POOL_CASES[group]:
        x, dout = pooling.pool_arrays(case)
        dx = pooling.pool_backward(kind, dout, x, case.window, case.stride)
        outer = np.vdot(pooling.pool_forward(kind, x, case.window, case.stride), dout)
        assert abs(outer - np.vdot(x, dx)) <= 1e-14 * np.linalg.norm(x) * np.linalg.norm(dx)


def test_the_case_matrix_has_what_each_cell_claims():
    groups = pooling.POOL_CASES
    for cases in groups.values():
        assert all(c.N >= 2 and c.C >= 2 for c in cases) and any(c.H != c.W for c in cases)
    assert all(c.stride == c.KH == c.KW and (c.H - c.KH) % c.stride == 0 == (c.W - c.KW) % c.stride
               for c in groups["basic"] + groups["ties"])
    assert all(c.stride < max(c.KH, c.KW) for c in groups["overlap"])
    assert any(c.stride == 1 for c in groups["overlap"])
    assert all((c.H - c.KH) % c.stride and (c.W - c.KW) % c.stride
               for c in groups["nondivisible"])
    for case in groups["ties"]:
        x, _ = pooling.pool_arrays(case)
        ones = np.ones((case.N, case.C, *case.out_hw))
        maxima = pooling_checks.route(ones, x, case.window, (case.stride,) * 2,
                                      pooling_checks._every_max)
        assert maxima.sum() > ones.size, "no window holds its maximum twice"


# --------------------------------------------------------------------------------------------
# The solution and the catalogue


def test_solution_passes_every_cell_in_budget(solution):
    assert run_cells(solution) == {}


@pytest.mark.parametrize("variant", submissions.catalogue(ASSIGNMENT), ids=lambda v: v.name)
def test_catalogue_variant_fails_exactly_its_cells(solution, variant):
    failed = run_cells(notebook_namespace(variant.name), set(variant.functions))
    assert sorted(failed) == sorted(variant.expected_failures), failed


@pytest.mark.parametrize(("variant", "cell", "words"), [
    ("bug_maxpool_tie_every_max", "test_maxpool_backward_ties", "sent the gradient to every copy"),
    ("bug_maxpool_tie_last", "test_maxpool_backward_ties", "to the LAST copy"),
    ("bug_maxpool_overwrites", "test_maxpool_backward_overlap", "= instead of +="),
    ("bug_maxpool_stride_ignored", "test_maxpool_backward", "stride ignored"),
    ("bug_maxpool_leftover_dropped", "test_maxpool_backward_nondivisible", "no window"),
    ("bug_avgpool_not_divided", "test_avgpool_backward", "times too large"),
    ("bug_avgpool_overwrites", "test_avgpool_backward_overlap", "= instead of +="),
    ("bug_forward_rounds_up", "test_maxpool_forward", "HO = (5 - 2) // 2 + 1 = 2"),
    ("bug_relu_mask_from_gradient", "test_network_gradients", "wrong side"),
    ("bug_softmax_not_averaged", "test_network_gradients", "times too large"),
    ("bug_train_gradient_ascent", "test_overfit", "the loss ROSE"),
])
def test_a_failure_names_the_misconception(solution, variant, cell, words):
    namespace = notebook_namespace(variant)
    with pytest.raises(Exception) as failure, contextlib.redirect_stdout(io.StringIO()):
        exec(grading_cells()[cell], dict(namespace))  # noqa: S102 (our notebook's tests)
    assert words in str(failure.value)


def test_the_stride_ignored_network_failure_points_to_the_pool(solution):
    failed = run_cells(notebook_namespace("bug_maxpool_stride_ignored"), {"network_loss"})
    assert "fix it first" in failed["test_network_gradients"]


# --------------------------------------------------------------------------------------------
# The network checks


def planted_kink_network():
    x, y = np.random.default_rng(3).standard_normal((4, 1, 6, 6)), np.array([0, 1, 2, 1])
    case = pooling_net.NetCase("kink", 4, H=6, W=6, F=3, K=3)
    w, b, V, c = pooling_net.initial_params(case, np.random.default_rng(4))
    z = reference.conv2d(x, w, b, pad=1)
    b[0] -= z[:, 0].max() - 1e-7  # the largest pre-activation of filter 0 sits 1e-7 above 0
    return x, y, (w, b, V, c)


def test_the_honest_check_flags_exactly_the_steps_that_change_the_pattern():
    x, y, params = planted_kink_network()
    _, *grads = pooling_net.loss_and_gradients(x, y, *params)
    probes = pooling_net.honest_gradient_check(
        lambda *args: pooling_net.loss_and_gradients(*args)[0], x, y, params, eps=1e-6)
    start = pooling_net.pattern(x, *params[:2])
    for k, (probe, grad) in enumerate(zip(probes, grads, strict=True)):
        for m, i in enumerate(probe.coords):
            moved = []
            for step in (1e-6, -1e-6):
                theta = [p.copy() for p in params]
                theta[k][i] += step
                moved.append(not np.array_equal(pooling_net.pattern(x, *theta[:2]), start))
            assert probe.crossed[m] == any(moved)
        smooth = ~probe.crossed
        analytic = np.array([grad[i] for i in probe.coords])
        assert np.abs(probe.numerical - analytic)[smooth].max() <= 1e-8 * np.abs(grad).max()
    assert probes[1].crossed[0] and probes[0].crossed.any()  # b[0] and some of filter 0's w
    assert not probes[2].crossed.any() and not probes[3].crossed.any()


def test_the_overfit_check_judges_the_returned_parameters_not_the_reported_losses(solution):
    def faked(x, y, w, b, V, c, lr, steps):
        start = pooling_net.loss_and_gradients(x, y, w, b, V, c)[0]
        return np.linspace(start, 0.0, steps), w, b, V, c  # never trained

    def wrong_start(x, y, w, b, V, c, lr, steps):
        losses, *params = solution["train"](x, y, w, b, V, c, lr, steps)
        return losses[1:].tolist() + [0.0], *params

    for fake, words in ((faked, "above the bar"), (wrong_start, "the first loss is wrong")):
        with pytest.raises(checks.CheckFailure, match=words), \
                contextlib.redirect_stdout(io.StringIO()):
            pooling_net_checks.check_overfit(fake, pooling_net_checks.OVERFIT_CASES[:1])


def test_the_network_check_names_a_loss_summed_over_the_batch(solution):
    def summed(x, y, w, b, V, c):
        loss, *grads = solution["network_loss"](x, y, w, b, V, c)
        return loss * x.shape[0], *grads

    with pytest.raises(checks.CheckFailure, match="SUM over the batch"), \
            contextlib.redirect_stdout(io.StringIO()):
        pooling_net_checks.check_network_gradients(summed, pooling_net_checks.GRADIENT_CASES)
