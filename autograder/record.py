"""Record graded submissions in the course's nbgrader gradebook, from the coordinator only.

Workers never touch the gradebook. Here nbgrader's own autograde runs once more per student on
the real course, but instead of executing anything it takes the outputs the worker produced
(refusing a notebook whose cells differ), so nbgrader applies its own rules (scores, late
penalties, kept manual grades) and writes ``autograded/`` for formgrader. Recording the same
student twice replaces the earlier record: a task that ran twice is recorded once.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Dict

from autograder import cells, course_root, grading


class OutputsDiffer(ValueError):
    """The executed notebook does not match the submission being recorded."""


class RecordingFailed(RuntimeError):
    """nbgrader refused to record a graded submission."""


class InjectOutputs(NbGraderPreprocessor):
    """Stands in for Execute: copies each code cell's outputs from the worker's notebook."""

    executed = Dict(help="Executed notebook JSON by notebook name.").tag(config=True)

    def preprocess(self, nb, resources):
        name = resources["unique_key"] + ".ipynb"
        done = nbformat.reads(self.executed[name], as_version=4)
        by_key = {_key(c): c for c in done.cells if c.cell_type == "code"}
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            source = by_key.get(_key(cell))
            if source is None or source.source != cell.source:
                raise OutputsDiffer(f"{name}: cell {_key(cell)} differs from the graded one")
            cell.outputs = source.outputs
            cell.execution_count = source.execution_count
        return nb, resources


def _key(cell) -> str:
    return cells.nbgrader_meta(cell).get("grade_id") or cell.get("id", "")


def record(root: Path, assignment: str, student: str, submitted: dict[str, str],
           executed: dict[str, str], db_url: str | None = None) -> grading.AssignmentGrade:
    """Write one student's graded submission into the gradebook of the course at ``root``."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.apps import NbGraderAPI
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )

    grading.submit(root, assignment, student, submitted)
    config = course_root.load_config(root)
    config.CourseDirectory.root = str(root)
    if db_url:
        config.CourseDirectory.db_url = db_url
    config.InjectOutputs.executed = executed
    config.Autograde.autograde_preprocessors = [
        InjectOutputs, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
        AssignLatePenalties, CheckCellMetadata]
    result = grading.autograde(NbGraderAPI(config=config), assignment, student)
    if result.status != "graded":
        raise RecordingFailed(f"{student}: nbgrader could not record the grade: {result.message}")
    return result


def overrule(root: Path, assignment: str, outcomes, db_url: str | None = None) -> None:
    """Where the independent re-check confirmed fewer points than nbgrader, record those as the
    manual score of the cell (nbgrader's automatic score stays visible in formgrader)."""
    from nbgrader.api import Gradebook

    coursedir = course_root.api(root, db_url).coursedir
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        for outcome in outcomes:
            lowered = [g for g, c in outcome.cells.items() if outcome.points(g) < c.score]
            if not lowered:
                continue
            submission = gradebook.find_submission(assignment, outcome.student)
            grades = {g.name: g for nb in submission.notebooks for g in nb.grades}
            for grade_id in lowered:
                grades[grade_id].manual_score = outcome.points(grade_id)
        gradebook.db.commit()
