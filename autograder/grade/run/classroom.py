"""Grade a whole class: intake, parallel sandboxed grading, verification, results by student."""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import functools
import json
import os
import tempfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from tqdm import tqdm

from autograder import cells, course_root
from autograder.grade.execute import grading
from autograder.grade.intake import intake as intake_module
from autograder.grade.intake import lateness, lms
from autograder.grade.record import record
from autograder.grade.run import journal, pool, worker
from autograder.grade.run.journal import Journal
from autograder.grade.sandbox.sandbox import Limits

FEEDBACK = "feedback"  # <out>/feedback/<student key>/<notebook>.html


@dataclass
class Outcome:
    """A student's result: nbgrader's cell scores, the verified ones, flags, lateness.

    ``student`` is the safe key of nbgrader's folders; ``identity`` is who the LMS says it is.
    """

    student: str
    status: str  # graded | needs review | not graded | grading failed | ignored
    cells: dict[str, grading.CellScore] = field(default_factory=dict)
    verified: dict[str, float] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    message: str = ""
    identity: lms.Identity | None = None
    submitted_at: datetime.datetime | None = None
    time_source: str = ""
    late: bool = False
    seconds_late: float = 0.0
    late_penalty: float = 0.0
    attempted: dict[str, bool] = field(default_factory=dict)  # solution cell -> not left blank

    def points(self, grade_id: str) -> float:
        """Reported points of a cell: nbgrader's, unless verification confirmed fewer."""
        cell = self.cells[grade_id]
        return min(cell.score, self.verified.get(grade_id, cell.score))

    @property
    def score(self) -> float:
        return sum(self.points(g) for g in self.cells)

    @property
    def final_score(self) -> float:
        """The score after the late penalty: what goes into a gradebook."""
        return max(0.0, self.score - self.late_penalty)

    @property
    def who(self) -> lms.Identity:
        return self.identity or lms.Identity(self.student)


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
    pattern: str = ""  # file names no LMS rule knows (default: FileNameCollectorPlugin's)


class UnknownAssignment(ValueError):
    """The assignment is not a folder of the course's source/."""


def check_assignment(root: Path, assignment: str) -> None:
    """Raise UnknownAssignment, naming the closest real one, if ``assignment`` does not exist."""
    known = course_root.assignments(root)
    if assignment not in known:
        close = difflib.get_close_matches(assignment, known, n=1, cutoff=0.4)
        hint = f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(known)})"
        raise UnknownAssignment(f"no assignment {assignment!r} in {root / 'source'}{hint}")


def read_class(assignment: str, submissions: Path, pattern: str = "",
               root: Path = course_root.REPO_ROOT) -> lms.Intake:
    """What the export holds for ``assignment``, with the course's configured file pattern."""
    configured = course_root.load_config(root).FileNameCollectorPlugin.get("named_regexp", "")
    return lms.collect(submissions, assignment, pattern or configured)


def _failed(task: worker.Task, error: BaseException) -> worker.Result:
    reason = f"grading failed: {type(error).__name__}: {error}".splitlines()[0]
    return worker.Result(grading.AssignmentGrade(task.student, task.material.assignment,
                                                 "grading failed", message=reason))


def grade_class(assignment: str, submissions: Path, out: Path, options: Options = Options(),
                root: Path = course_root.REPO_ROOT, force: bool | Collection[str] = False
                ) -> tuple[list[Outcome], list[str], float]:
    """Grade every submission; return the outcomes by student, batch notes and the max score."""
    intake = read_class(assignment, submissions, options.pattern, root)
    return grade_intake(assignment, intake, out, options, root, force)


def grade_intake(assignment: str, intake: lms.Intake, out: Path, options: Options = Options(),
                 root: Path = course_root.REPO_ROOT, force: bool | Collection[str] = False
                 ) -> tuple[list[Outcome], list[str], float]:
    """Grade what intake found: one outcome per student and one per ignored entry.

    Each result is journaled in ``out`` and its feedback written there the moment it arrives;
    a student whose journaled grading has the same fingerprint (material, code, options and
    notebooks) is not graded again. ``force`` True regrades everyone; a set of students
    regrades those even if nothing changed (the others resume as usual).
    """
    book = Journal(out, assignment)
    with tempfile.TemporaryDirectory(prefix="material-") as tmp:
        material = worker.prepare(assignment, Path(tmp), root)
        release = {p.name: nbformat.read(p, as_version=4)
                   for p in sorted((Path(tmp) / "release" / assignment).glob("*.ipynb"))}
    max_score = sum(c.metadata["nbgrader"].get("points", 0) for nb in release.values()
                    for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))
    run = journal.run_fingerprint(material, _task_options(options), root)
    describe = functools.partial(_describe, release=release, policy=lateness.policy(
        root, assignment), order=[record.cell_key(c) for nb in release.values() for c in nb.cells])
    outcomes: dict[str, Outcome] = {}
    fingerprints: dict[str, str] = {}
    waiting: dict[str, tuple[lms.Submission, intake_module.Rebuilt]] = {}
    kept: list[str] = []
    label = f"grading on {options.scheduler}" if options.scheduler else "grading"
    bar = tqdm(total=len(intake.submissions), desc=label, unit="student", disable=None)

    def tasks() -> Iterator[worker.Task]:
        for submission in intake.submissions:
            rebuilt = _rebuilt(submission, release, assignment)
            student = submission.student
            if rebuilt.problem:
                outcomes[student] = describe(_outcome(rebuilt, None), submission, {})
                bar.update()
                continue
            fingerprints[student] = journal.fingerprint(run, rebuilt.notebooks)
            entry = _reused(book, student, fingerprints[student], force)
            if entry is not None:
                kept.append(student)
                _write_feedback(out, student, entry.result.feedback, keep=True)
                outcomes[student] = describe(_outcome(rebuilt, entry.result), submission,
                                             rebuilt.notebooks)
                bar.update()
                continue
            waiting[student] = submission, rebuilt
            yield worker.Task(student, material, rebuilt.notebooks, options.sandboxed,
                              options.limits, options.cell_timeout, options.submission_timeout,
                              options.verify)

    if options.scheduler:
        from autograder.grade.run.cluster import stream_on_cluster

        finished = stream_on_cluster(worker.run, tasks(), options.scheduler, _failed)
    else:
        finished = pool.stream(worker.run, tasks(), options.workers, _failed)
    with bar:
        for task, result in finished:
            submission, rebuilt = waiting.pop(task.student)
            book.store(task.student, fingerprints[task.student], task.notebooks, result)
            _write_feedback(out, task.student, result.feedback, keep=False)
            outcomes[task.student] = describe(_outcome(rebuilt, result), submission,
                                              task.notebooks)
            bar.update()
    ordered = [outcomes[s.student] for s in intake.submissions]
    ordered += [Outcome("", "ignored", message=entry) for entry in intake.ignored]
    if options.record:
        record.record_class(root, assignment, ordered, fingerprints, book, options.db_url)
    notes = [f"{len(kept)} of {len(intake.submissions)} students kept their result from the "
             f"earlier run in {book.folder} (same notebooks, material, code and options; "
             "--force regrades everyone)"] if kept else []
    return ordered, notes, max_score


def _reused(book: Journal, student: str, fingerprint: str,
            force: bool | Collection[str]) -> journal.Entry | None:
    """The journaled result to keep for ``student`` under ``force``, if any."""
    if force is True or (force and student in force):
        return None
    return book.reusable(student, fingerprint)


def _task_options(options: Options) -> dict[str, object]:
    """The options a student's grade depends on (not where or how fast it is graded)."""
    return {"sandboxed": options.sandboxed, "verify": options.verify,
            "limits": dataclasses.asdict(options.limits), "cell_timeout": options.cell_timeout,
            "submission_timeout": options.submission_timeout}


def _write_feedback(out: Path, student: str, pages: dict[str, str], keep: bool) -> None:
    """A student's feedback pages under ``out/feedback/<student>/``, each written whole
    (``keep``: leave pages already there, as a resumed run found them)."""
    folder = out / FEEDBACK / student
    for name, page in pages.items():
        path = folder / name
        if keep and path.is_file():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        journal.write_atomically(path, page.encode())


def _rebuilt(submission: lms.Submission, release: dict[str, nbformat.NotebookNode],
             assignment: str) -> intake_module.Rebuilt:
    """The submission rebuilt for grading; a notebook that breaks intake (odd metadata types,
    a source that is not text) is that student's "not graded" row, never the run's end."""
    try:
        return _foreign(submission, release, assignment) or \
            intake_module.rebuild(submission, release)
    except Exception as error:  # noqa: BLE001 (anything a malformed notebook makes intake do)
        return intake_module.Rebuilt(
            submission.student, {}, list(submission.flags),
            f"the notebook could not be read: {type(error).__name__}: {error}"[:300])


def _foreign(submission: lms.Submission, release: dict[str, nbformat.NotebookNode],
             assignment: str) -> intake_module.Rebuilt | None:
    """Not graded, in one line, when the submitted notebooks have graded or solution cells and
    none of them is the release's: a notebook of another assignment."""
    ours = {_grade_id(c) for nb in release.values() for c in nb.cells} - {""}
    theirs: set[str] = set()
    for raw in submission.files.values():
        try:
            theirs |= {_grade_id(c) for c in json.loads(raw).get("cells", [])} - {""}
        except (ValueError, AttributeError, TypeError):
            return None  # not a notebook at all: rebuild says so
    if not theirs or theirs & ours:
        return None
    names = ", ".join(sorted(submission.files))
    return intake_module.Rebuilt(submission.student, {}, list(submission.flags),
                                 f"{names} has none of {assignment}'s graded cells: a notebook "
                                 "of another assignment?")


def _grade_id(cell) -> str:
    """The grade id of a graded or solution cell ("" for any other cell)."""
    meta = cells.nbgrader_meta(cell) if isinstance(cell, dict) else {}
    return meta.get("grade_id", "") if meta.get("grade") or meta.get("solution") else ""


def _describe(outcome: Outcome, submission: lms.Submission, notebooks: dict[str, str], *,
              release: dict[str, nbformat.NotebookNode], order: list[str],
              policy: lateness.Policy) -> Outcome:
    """Who the outcome belongs to, when they submitted, how late, what they attempted."""
    outcome.identity = submission.who
    outcome.submitted_at, outcome.time_source = submission.submitted_at, submission.time_source
    outcome.seconds_late = policy.seconds_late(submission.submitted_at)
    outcome.late = submission.late_marker or outcome.seconds_late > 0
    outcome.cells = {g: outcome.cells[g] for g in sorted(
        outcome.cells, key=lambda g: order.index(g) if g in order else len(order))}
    outcome.late_penalty = policy.penalty(outcome.student, outcome.score, outcome.seconds_late)
    outcome.attempted = attempted(release, notebooks) if notebooks else {}
    return outcome


def attempted(release: dict[str, nbformat.NotebookNode], notebooks: dict[str, str]
              ) -> dict[str, bool]:
    """For each solution cell, in notebook order: did the student change the release's stub?"""
    answers = {}
    for name, release_nb in release.items():
        mine = {record.cell_key(c): c.source
                for c in nbformat.reads(notebooks[name], as_version=4).cells}
        for cell in release_nb.cells:
            if cells.nbgrader_meta(cell).get("solution"):
                key = record.cell_key(cell)
                answers[key] = mine.get(key, cell.source).strip() != cell.source.strip()
    return answers


def _outcome(rebuilt: intake_module.Rebuilt, result: worker.Result | None) -> Outcome:
    if rebuilt.problem:
        return Outcome(rebuilt.student, "not graded", flags=rebuilt.flags, message=rebuilt.problem)
    grade = result.grade
    outcome = Outcome(rebuilt.student, grade.status, grade.cells, flags=list(rebuilt.flags),
                      message=grade.message)
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
