"""The independent re-check where tests hand the student's code a function of the course's.

Notebook 07's honest gradient is called with ``loss_and_pattern``, a closure over the kink
network (and so over the true gradient). In the re-check it reaches the student's process as a
proxy that calls back over the pipe: the values travel, the closure does not. A solution that
digs the truth out of the closure gets full marks from nbgrader and is caught here.
"""

from __future__ import annotations

import os
import shutil

import nbformat
import pytest

from autograder import course_root
from autograder.author import submissions
from autograder.demo import demo_class
from autograder.grade.run import worker
from autograder.grade.verify import verify

pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None and os.environ.get("CI") != "true",
    reason="bubblewrap is not installed (CI installs it; see .ci/run)")

ASSIGNMENT, HONEST = "07_capstone", "honest_gradient"
SOURCE = course_root.notebooks(course_root.REPO_ROOT, ASSIGNMENT)[0]
RELEASE = course_root.notebooks(course_root.REPO_ROOT, ASSIGNMENT, "release")[0]
CLOSURE_THIEF = '''
def honest_numerical_gradient(loss_and_pattern, theta, eps=1e-6):
    found = dict(zip(loss_and_pattern.__code__.co_freevars,
                     (c.cell_contents for c in loss_and_pattern.__closure__)))
    net, name = found["self"], found["name"]
    plus, minus = net.crossings(name, eps)
    return net.gradient(name), plus | minus
'''


@pytest.fixture(scope="module")
def material(tmp_path_factory) -> worker.Material:
    return worker.prepare(ASSIGNMENT, tmp_path_factory.mktemp("material"))


def grade(material: worker.Material, student: str, honest_code: str | None) -> worker.Result:
    code = submissions.solution_cells(nbformat.read(SOURCE, as_version=4))
    if honest_code is not None:
        code[HONEST] = honest_code
    release = nbformat.read(RELEASE, as_version=4)
    text = nbformat.writes(submissions.fill(release, code)) + "\n"
    return worker.run(worker.Task(student, material, {RELEASE.name: text}, cell_timeout=60))


def test_the_solution_passes_the_recheck_through_callbacks(material):
    result = grade(material, "solution", None)
    assert result.grade.failed_cells() == []
    points = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
              for c in nbformat.read(SOURCE, as_version=4).cells
              if c.metadata.get("nbgrader", {}).get("grade")}
    assert result.verdict.points == points, result.verdict  # every cell, the wrapper's too
    assert result.verdict.flags == []


def test_a_solution_that_reads_the_closure_is_caught(material):
    result = grade(material, "closure-thief", CLOSURE_THIEF)
    honest = result.grade.cells["test_honest_gradient"]
    assert honest.score == honest.max_score > 0  # nbgrader is fooled
    assert result.verdict.points["test_honest_gradient"] == 0.0
    assert "KeyError" in result.verdict.reasons["test_honest_gradient"]


VARIANTS = [v for a in course_root.assignments() for v in submissions.catalogue(a)]


def recheck(assignment: str, code: dict[str, str]) -> verify.Verdict:
    """The re-check alone (no nbgrader) of the release filled with ``code``."""
    release = course_root.notebooks(course_root.REPO_ROOT, assignment, "release")
    notebooks = {p.name: nbformat.writes(submissions.fill(nbformat.read(p, as_version=4), code))
                 for p in release}
    return verify.run(verify.Job("catalogue", course_root.REPO_ROOT / "source" / assignment,
                                 notebooks))


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: f"{v.assignment}/{v.name}")
def test_the_recheck_agrees_with_the_catalogue(variant):
    """Every replayed cell: a bug fails exactly its cells, an alternative passes them all."""
    source = nbformat.read(course_root.notebooks(course_root.REPO_ROOT, variant.assignment)[0],
                           as_version=4)
    verdict = recheck(variant.assignment, submissions.variant_cells(source, variant))
    # a timed check may run out of time over the pipe on a loaded machine: that overrules nothing
    assert [f for f in verdict.flags if "too slow in the re-check" not in f] == []
    failed = sorted(g for g, points in verdict.points.items() if points == 0)
    assert failed == sorted(g for g in variant.expected_failures if g in verdict.points), \
        verdict.reasons


def test_a_call_that_cannot_be_sent_keeps_nbgrader_s_score():
    """The signal passes through the checks' own error handling (call_safely) to the re-check."""
    def cannot_be_sent(*args):
        raise verify.NotReplayable("an argument that cannot be pickled")

    code = "from course.checks import call_safely\ncall_safely(fn, 1, label='a case')"
    assert verify._run_test(code, {"fn": cannot_be_sent}, 2) is None  # not re-checked
    assert verify._run_test(code, {"fn": lambda x: 1 / 0}, 2)[0] == 0.0


STALLER = """
import sys, time
_forward = conv2d_single_forward
def conv2d_single_forward(*args, **kwargs):
    if "ipykernel" not in sys.modules:  # slow only when re-checked
        time.sleep(0.5)
    return _forward(*args, **kwargs)
"""


def test_a_recheck_over_its_budget_keeps_nbgrader_s_scores_and_is_flagged():
    assignment = demo_class.ASSIGNMENT
    source = nbformat.read(course_root.notebooks(course_root.REPO_ROOT, assignment)[0],
                           as_version=4)
    code = submissions.solution_cells(source)
    code[demo_class.FORWARD_SOLUTION] += STALLER
    release = course_root.notebooks(course_root.REPO_ROOT, assignment, "release")[0]
    text = nbformat.writes(submissions.fill(nbformat.read(release, as_version=4), code))
    verdict = verify.run(verify.Job("staller", course_root.REPO_ROOT / "source" / assignment,
                                    {release.name: text}, budget=3))
    assert any("over its budget" in f for f in verdict.flags), verdict.flags
    assert set(verdict.points) < set(demo_class.ALL)  # the cells not reached are not overruled
    assert all(points > 0 for points in verdict.points.values()), verdict.reasons
