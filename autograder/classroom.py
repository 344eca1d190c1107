"""Grade a whole class: intake, parallel sandboxed grading, verification, results by student."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import course_root, grading, intake, pool, record, worker
from autograder.sandbox import Limits


@dataclass
class Outcome:
    """A student's result: nbgrader's cell scores, the verified ones, flags and feedback."""

    student: str
    status: str  # graded | needs review | not graded | grading failed
    cells: dict[str, grading.CellScore] = field(default_factory=dict)
    verified: dict[str, float] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    message: str = ""
    feedback: dict[str, str] = field(default_factory=dict)

    def points(self, grade_id: str) -> float:
        """Reported points of a cell: nbgrader's, unless verification confirmed fewer."""
        cell = self.cells[grade_id]
        return min(cell.score, self.verified.get(grade_id, cell.score))

    @property
    def score(self) -> float:
        return sum(self.points(g) for g in self.cells)


@dataclass(frozen=True)
class Options:
    """How to grade: workers, sandbox, limits, time budgets and verification."""

    workers: int = os.cpu_count() or 1
    sandboxed: bool = True
    verify: bool = True
    limits: Limits = Limits()
    cell_timeout: int = 60
    submission_timeout: int = 900
    scheduler: str | None = None  # a Dask scheduler address; None: the local pool
    record: bool = False  # write the results into the course's nbgrader gradebook
    db_url: str | None = None  # that gradebook, when not nbgrader_config.py's db_url


def _failed(task: worker.Task, error: BaseException) -> worker.Result:
    reason = f"grading failed: {type(error).__name__}: {error}".splitlines()[0]
    return worker.Result(grading.AssignmentGrade(task.student, task.material.assignment,
                                                 "grading failed", message=reason))


def grade_class(assignment: str, submissions: Path, options: Options = Options(),
                root: Path = course_root.REPO_ROOT) -> tuple[list[Outcome], list[str], float]:
    """Grade every submission; return the outcomes by student, batch notes and the max score."""
    students, notes = intake.collect(submissions)
    with tempfile.TemporaryDirectory(prefix="material-") as tmp:
        material = worker.prepare(assignment, Path(tmp), root)
        release = {p.name: nbformat.read(p, as_version=4)
                   for p in sorted((Path(tmp) / "release" / assignment).glob("*.ipynb"))}
        max_score = sum(c.metadata["nbgrader"].get("points", 0) for nb in release.values()
                        for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))
        rebuilt = [intake.rebuild(students[s], release) for s in sorted(students)]
        tasks = [worker.Task(r.student, material, r.notebooks, options.sandboxed,
                             options.limits, options.cell_timeout, options.submission_timeout,
                             options.verify)
                 for r in rebuilt if not r.problem]
        if options.scheduler:
            from autograder.cluster import run_on_cluster

            graded = run_on_cluster(worker.run, tasks, options.scheduler, _failed)
        else:
            graded = pool.run_all(worker.run, tasks, options.workers, _failed)
        results = {r.grade.student: r for r in graded}
    outcomes = [_outcome(r, results.get(r.student)) for r in rebuilt]
    if options.record:
        _record(root, assignment, rebuilt, results, options.db_url)
        record.overrule(root, assignment, outcomes, options.db_url)
    return outcomes, notes, max_score


def _record(root: Path, assignment: str, rebuilt: list[intake.Rebuilt],
            results: dict[str, worker.Result], db_url: str | None) -> None:
    """Record every graded student in the course gradebook (nbgrader's rules, formgrader's view)."""
    from autograder import release

    release.generate(root, [assignment], db_url)
    for r in rebuilt:
        result = results.get(r.student)
        if result is not None and result.grade.status == "graded":
            record.record(root, assignment, r.student, r.notebooks, result.autograded, db_url)


def _outcome(rebuilt: intake.Rebuilt, result: worker.Result | None) -> Outcome:
    if rebuilt.problem:
        return Outcome(rebuilt.student, "not graded", flags=rebuilt.flags, message=rebuilt.problem)
    grade = result.grade
    outcome = Outcome(rebuilt.student, grade.status, grade.cells, flags=list(rebuilt.flags),
                      message=grade.message, feedback=result.feedback)
    if grade.status != "graded":
        return outcome
    check = result.verdict
    if check is not None:
        outcome.verified = check.points
        outcome.flags += check.flags
        outcome.flags += _disagreements(grade.cells, check)
    if outcome.flags:
        outcome.status = "needs review"
    return outcome


def _disagreements(scores: dict[str, grading.CellScore], check) -> list[str]:
    """A flag for every cell where nbgrader and the re-check disagree, in either direction:
    more in nbgrader is the sign of a student's tampering with their own run, more in the
    re-check of something in the kernel's run that the student did not do alone."""
    flags = []
    for grade_id, cell in scores.items():
        rechecked = check.points.get(grade_id, cell.score)
        if rechecked == cell.score:
            continue
        reason = check.reasons.get(grade_id, "")[:200]
        flags.append(f"{grade_id}: nbgrader gave {cell.score:g} points, the independent "
                     f"re-check {rechecked:g}" + (f" ({reason})" if reason else ""))
    return flags
