"""Every graded exercise, proven through nbgrader's real autograde (real kernel, real gradebook).

The source solution scores full marks, the blank release scores zero, each catalogued bug loses
exactly the cells it names, and each alternative correct implementation keeps full marks.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from autograder import course_root
from autograder.author import submissions
from autograder.grade.execute import grading

REPO = course_root.REPO_ROOT
CATALOGUE_ROWS = REPO / "build" / "catalogue-rows"
# A correct solution's test cell must run well under this (seconds), in the real grader...
CELL_BUDGET = 5.0
# ...except a cell tagged "training" (notebook 07 trains a network in its test): under a minute.
TRAINING_TAG, TRAINING_BUDGET = "training", 60.0
ASSIGNMENTS = course_root.assignments(REPO)
VARIANTS = [v for a in ASSIGNMENTS for v in submissions.catalogue(a)]


def grade(course: Path, assignment: str, student: str, code: dict[str, str] | None):
    """Submit the release notebooks with ``code`` in their solution cells, autograde, return it."""
    notebooks = {}
    for source, released in zip(course_root.notebooks(course, assignment),
                                course_root.notebooks(course, assignment, "release"),
                                strict=True):
        release_nb = nbformat.read(released, as_version=4)
        cells = code(nbformat.read(source, as_version=4)) if code else {}
        notebooks[released.name] = grading.notebook_text(submissions.fill(release_nb, cells))
    grading.submit(course, assignment, student, notebooks)
    return grading.autograde(course_root.api(course), assignment, student)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_scores_full_marks(course, assignment):
    result = grade(course, assignment, "solution", submissions.solution_cells)
    assert result.status == "graded", result.message
    assert result.max_score > 0
    assert result.failed_cells() == []
    assert result.score == result.max_score
    budgets = cell_budgets(course, assignment)
    slow = {g: c.seconds for g, c in result.cells.items()
            if c.seconds is None or c.seconds > budgets.get(g, CELL_BUDGET)}
    assert not slow, f"test cells over their budget ({CELL_BUDGET} s, or {TRAINING_BUDGET} s " \
                     f"for training; or untimed): {slow}"


def cell_budgets(course: Path, assignment: str) -> dict[str, float]:
    """The time budget of each test cell tagged for training (the others have CELL_BUDGET)."""
    return {cell.metadata["nbgrader"]["grade_id"]: TRAINING_BUDGET
            for path in course_root.notebooks(course, assignment)
            for cell in nbformat.read(path, as_version=4).cells
            if TRAINING_TAG in cell.metadata.get("tags", [])}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_blank_release_scores_zero(course, assignment):
    result = grade(course, assignment, "blank", None)
    assert result.status == "graded", result.message
    assert result.max_score > 0
    assert result.score == 0, f"points for nothing: {result.cells}"


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: f"{v.assignment}/{v.name}")
def test_catalogue_variant_loses_exactly_its_cells(course, variant):
    result = grade(course, variant.assignment, variant.name,
                   lambda source_nb: submissions.variant_cells(source_nb, variant))
    assert result.status == "graded", result.message
    record_catalogue_row(variant, result)
    assert result.failed_cells() == sorted(variant.expected_failures), variant.description
    for grade_id in variant.expected_failures:
        assert result.cells[grade_id].score == 0, f"{grade_id} gave partial points"


def record_catalogue_row(variant: submissions.Variant, result: grading.AssignmentGrade) -> None:
    """Keep what the grader did with a variant, for docs/catalogue.md (see conftest.py)."""
    failed = result.failed_cells()
    row = {
        "assignment": variant.assignment, "variant": variant.name,
        "functions": ", ".join(variant.functions), "description": variant.description,
        "score": f"{result.score:g} / {result.max_score:g}",
        "failed": ", ".join(failed) or "-",
        "message": " ".join(result.cells[failed[0]].message.split()) if failed else "-",
    }
    CATALOGUE_ROWS.mkdir(parents=True, exist_ok=True)
    (CATALOGUE_ROWS / f"{variant.assignment}__{variant.name}.json").write_text(json.dumps(row))
