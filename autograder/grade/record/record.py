"""Record a graded class in the course's nbgrader gradebook, from the coordinator only, in bulk.

Workers never touch the gradebook. The coordinator writes nbgrader's own rows through nbgrader's
models, one transaction per batch of students: each student (with the LMS's id and name), their
submission (with the real submission time, from which nbgrader computes lateness), every graded
cell's automatic score as nbgrader's ``SaveAutoGrades`` computes it from the executed cell, the
"No response." comment on an untouched answer, the late penalty, the re-check's lower points as a
manual score, and the *flagged* mark on a submission to review; and it writes ``submitted/`` and
``autograded/`` for formgrader. Recording a student again updates the same rows (manual grades
kept), as nbgrader's autograde does. The journal remembers who is recorded, so a rerun records
only what changed.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import nbformat

from autograder import cells, course_root
from autograder.grade.intake import lateness

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"  # as nbgrader writes timestamp.txt
BATCH = 500  # students per transaction
RECORDED_STATUSES = ("graded", "needs review")
LOG = logging.getLogger("autograder.record")


def cell_key(cell) -> str:
    """How intake and recording match cells: the nbgrader grade id, else the cell id."""
    return cells.nbgrader_meta(cell).get("grade_id") or cell.get("id", "")


def record_class(root: Path, assignment: str, outcomes: list, fingerprints: dict[str, str],
                 journal, db_url: str | None = None) -> int:
    """Record every student of ``outcomes`` (``classroom.Outcome``; graded or not, each is a
    student of the gradebook) not yet recorded in this state; return how many were.

    ``journal`` is the run's journal (``grade.run.journal.Journal``, a later stage: passed in,
    not imported): it holds each student's notebooks and remembers what was recorded.
    """
    from nbgrader.api import Gradebook

    from autograder import release

    release.generate(root, [assignment], db_url)
    policy = lateness.policy(root, assignment)
    set_duedate(root, assignment, policy.due, db_url)
    coursedir = course_root.api(root, db_url).coursedir
    done = journal.recorded(coursedir.db_url)
    source = root / "source" / assignment
    extras = [p for p in sorted(source.rglob("*")) if p.is_file() and p.suffix != ".ipynb"]
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        row = gradebook.find_assignment(assignment)
        present = _present(gradebook, row)
        todo = [o for o in outcomes if o.student and not (
            _state(o, fingerprints) in done and o.student in present[o.status in
                                                                      RECORDED_STATUSES])]
        for batch in _batches(todo):
            _record_batch(gradebook, row, batch, journal, policy, root, extras, source)
            gradebook.db.commit()
            journal.mark_recorded(coursedir.db_url, [_state(o, fingerprints) for o in batch])
    return len(todo)


def _present(gradebook, assignment_row) -> dict[bool, set[str]]:
    """Who the gradebook holds: as a student (False) and with a submission (True). The journal's
    marker alone is not trusted: the gradebook may have been deleted and made anew."""
    from nbgrader.api import Student, SubmittedAssignment

    db = gradebook.db
    return {False: {s.id for s in db.query(Student.id)},
            True: {s.student_id for s in db.query(SubmittedAssignment.student_id).filter(
                SubmittedAssignment.assignment_id == assignment_row.id)}}


def _state(outcome, fingerprints: dict[str, str]) -> tuple[str, str]:
    """What is recorded of a student, as a digest: who, when, what was graded, and the result."""
    what = [fingerprints.get(outcome.student, ""), outcome.status, dataclasses.astuple(outcome.who),
            str(outcome.submitted_at), {g: outcome.points(g) for g in outcome.cells}]
    return outcome.student, hashlib.sha256(json.dumps(what).encode()).hexdigest()


def _batches(items: list) -> Iterator[list]:
    for start in range(0, len(items), BATCH):
        yield items[start:start + BATCH]


def _record_batch(gradebook, assignment_row, batch: list, journal,
                  policy: lateness.Policy, root: Path, extras: list[Path], source: Path) -> None:
    from nbgrader.api import Student, SubmittedAssignment

    db, ids = gradebook.db, [o.student for o in batch]
    students = {s.id: s for s in db.query(Student).filter(Student.id.in_(ids))}
    submissions = {s.student_id: s for s in db.query(SubmittedAssignment).filter(
        SubmittedAssignment.assignment_id == assignment_row.id,
        SubmittedAssignment.student_id.in_(ids))}
    for outcome in batch:
        student = students.get(outcome.student)
        if student is None:
            student = Student(id=outcome.student)
            db.add(student)
        who = outcome.who
        student.last_name = who.name or who.student_id
        student.email = who.student_id if "@" in who.student_id else None
        student.lms_user_id = who.lms_user_id or None
        entry = journal.read(outcome.student) if outcome.status in RECORDED_STATUSES else None
        if entry is None:
            continue
        submission = submissions.get(outcome.student) or _new_submission(assignment_row, student)
        db.add(submission)
        submission.timestamp = outcome.submitted_at
        _write_files(root, assignment_row.name, outcome, entry, extras, source)
        for notebook in submission.notebooks:
            text = entry.result.autograded.get(f"{notebook.notebook.name}.ipynb")
            executed = nbformat.reads(text, as_version=4) if text else None
            _score_notebook(notebook, executed, outcome, policy)


def _new_submission(assignment_row, student):
    """A submission with nbgrader's structure: a row for every notebook, grade and comment (as
    ``Gradebook.add_submission`` builds it, without its commit per student; cells linked as
    objects, so their names are known before the batch is flushed)."""
    from nbgrader.api import Comment, Grade, SubmittedAssignment, SubmittedNotebook

    submission = SubmittedAssignment(assignment=assignment_row, student=student)
    for notebook in assignment_row.notebooks:
        nb = SubmittedNotebook(notebook=notebook, assignment=submission)
        for cell in notebook.grade_cells:
            Grade(cell=cell, notebook=nb)
        for cell in notebook.solution_cells:
            Comment(cell=cell, notebook=nb)
        for cell in notebook.task_cells:
            Comment(cell=cell, notebook=nb)
            Grade(cell=cell, notebook=nb)
    return submission


def _score_notebook(notebook, executed: nbformat.NotebookNode | None, outcome,
                    policy: lateness.Policy) -> None:
    """nbgrader's SaveAutoGrades and AssignLatePenalties on one submitted notebook, with the
    re-check's lower points as manual scores, and the review flag."""
    from nbgrader import utils

    by_id = {cells.nbgrader_meta(c)["grade_id"]: c for c in (executed.cells if executed else [])
             if cells.nbgrader_meta(c).get("grade_id")}
    score = 0.0
    for grade in notebook.grades:
        cell = by_id.get(grade.name)
        grade.auto_score = utils.determine_grade(cell, LOG)[0] \
            if cell is not None and utils.is_grade(cell) else None
        if grade.name in outcome.cells and \
                outcome.points(grade.name) < outcome.cells[grade.name].score:
            grade.manual_score = outcome.points(grade.name)
        grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
        score += grade.manual_score if grade.manual_score is not None else grade.auto_score or 0
    for comment in notebook.comments:
        cell = by_id.get(comment.name)
        untouched = cell is not None and not utils.is_task(cell) and \
            cells.nbgrader_meta(cell).get("checksum") == utils.compute_checksum(cell)
        comment.auto_comment = "No response." if untouched else None
    late = policy.seconds_late(outcome.submitted_at)
    notebook.late_submission_penalty = policy.penalty(outcome.student, score, late) \
        if late > 0 else None
    notebook.flagged = outcome.status == "needs review"


def _write_files(root: Path, assignment: str, outcome, entry, extras: list[Path],
                 source: Path) -> None:
    """``submitted/`` and ``autograded/`` as nbgrader's autograde leaves them for formgrader."""
    stamp = (outcome.submitted_at or datetime.datetime.now(datetime.UTC)).strftime(
        TIMESTAMP_FORMAT)
    for kind, notebooks in (("submitted", entry.submitted),
                            ("autograded", entry.result.autograded)):
        folder = root / kind / outcome.student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in notebooks.items():
            (folder / name).write_text(text)
        (folder / "timestamp.txt").write_text(stamp)
    for path in extras:
        target = root / "autograded" / outcome.student / assignment / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)


def set_duedate(root: Path, assignment: str, due: datetime.datetime | None,
                db_url: str | None = None) -> None:
    """Store the configured due date (naive UTC) on the assignment, where nbgrader reads it."""
    if due is None:
        return
    from nbgrader.api import Gradebook

    coursedir = course_root.api(root, db_url).coursedir
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        gradebook.update_or_create_assignment(assignment, duedate=due)
