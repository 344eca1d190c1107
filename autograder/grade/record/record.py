"""Record graded submissions in the course's nbgrader gradebook, from the coordinator only.

Workers never touch the gradebook. Here nbgrader's own autograde runs once more per student on
the real course, but instead of executing anything it takes the outputs the worker produced
(refusing a notebook whose cells differ), so nbgrader applies its own rules (scores, late
penalties, kept manual grades) and writes ``autograded/`` for formgrader. Recording the same
student twice replaces the earlier record: a task that ran twice is recorded once.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Dict

from autograder import cells, course_root
from autograder.grade.execute import grading

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"  # as nbgrader writes timestamp.txt


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
        by_key = {cell_key(c): c for c in done.cells if c.cell_type == "code"}
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            source = by_key.get(cell_key(cell))
            if source is None or source.source != cell.source:
                raise OutputsDiffer(f"{name}: cell {cell_key(cell)} differs from the graded one")
            cell.outputs = source.outputs
            cell.execution_count = source.execution_count
        return nb, resources


def cell_key(cell) -> str:
    """How intake and recording match cells: the nbgrader grade id, else the cell id."""
    return cells.nbgrader_meta(cell).get("grade_id") or cell.get("id", "")


def record(root: Path, assignment: str, student: str, submitted: dict[str, str],
           executed: dict[str, str], db_url: str | None = None,
           submitted_at: datetime.datetime | None = None) -> grading.AssignmentGrade:
    """Write one student's graded submission into the gradebook of the course at ``root``,
    with the real submission time (naive UTC) where intake found one: nbgrader's late
    penalty is computed from it."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.apps import NbGraderAPI
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )

    folder = grading.submit(root, assignment, student, submitted)
    if submitted_at is not None:
        (folder / "timestamp.txt").write_text(submitted_at.strftime(TIMESTAMP_FORMAT))
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


def set_duedate(root: Path, assignment: str, due: datetime.datetime | None,
                db_url: str | None = None) -> None:
    """Store the configured due date (naive UTC) on the assignment, where nbgrader reads it."""
    if due is None:
        return
    from nbgrader.api import Gradebook

    coursedir = course_root.api(root, db_url).coursedir
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        gradebook.update_or_create_assignment(assignment, duedate=due)


def register(root: Path, assignment: str, outcomes, db_url: str | None = None) -> None:
    """Every student in the gradebook, graded or not (so ``nbgrader export`` lists them all),
    with their verbatim id or name and LMS user id; a submission to review is flagged, as
    formgrader's *Flagged?* column shows."""
    from nbgrader.api import Gradebook, MissingEntry

    coursedir = course_root.api(root, db_url).coursedir
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        for outcome in outcomes:
            if not outcome.student:
                continue
            who = outcome.who
            gradebook.update_or_create_student(
                outcome.student, last_name=who.name or who.student_id,
                email=who.student_id if "@" in who.student_id else None,
                lms_user_id=who.lms_user_id or None)
            if outcome.status != "needs review":
                continue
            try:
                submission = gradebook.find_submission(assignment, outcome.student)
            except MissingEntry:
                continue
            for notebook in submission.notebooks:
                notebook.flagged = True
        gradebook.db.commit()
