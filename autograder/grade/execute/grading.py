"""Autograde one student's assignment with nbgrader's Python API and read the scores back."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path

import nbformat


@dataclass(frozen=True)
class CellScore:
    """The points of one graded test cell, what it said when it failed, and how long it ran."""

    grade_id: str
    score: float
    max_score: float
    message: str = ""
    seconds: float | None = None


@dataclass
class AssignmentGrade:
    """One student's result on one assignment: graded, or not graded with the reason why."""

    student: str
    assignment: str
    status: str  # "graded" or "not graded"
    cells: dict[str, CellScore] = field(default_factory=dict)
    message: str = ""

    @property
    def score(self) -> float:
        return sum(c.score for c in self.cells.values())

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.cells.values())

    def failed_cells(self) -> list[str]:
        """Grade ids of the cells that lost points."""
        return sorted(g for g, c in self.cells.items() if c.score < c.max_score)


def submit(root: Path, assignment: str, student: str, notebooks: dict[str, str]) -> Path:
    """Place a submission where nbgrader expects it: ``submitted/<student>/<assignment>/``."""
    folder = root / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in notebooks.items():
        (folder / name).write_text(text)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f %Z")
    (folder / "timestamp.txt").write_text(stamp)
    return folder


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """Serialise a notebook as Jupyter would save it."""
    return nbformat.writes(nb) + "\n"


def unreadable_notebooks(folder: Path) -> list[str]:
    """One line per notebook in ``folder`` that is not a valid notebook file."""
    problems = []
    for path in sorted(folder.glob("*.ipynb")):
        try:
            nbformat.validate(nbformat.read(path, as_version=4))
        except Exception as error:  # invalid JSON, wrong schema, unreadable bytes
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
            problems.append(f"{path.name} is not a valid notebook: {type(error).__name__}: "
                            f"{first_line}")
    return problems


def autograde(api, assignment: str, student: str) -> AssignmentGrade:
    """Autograde ``submitted/<student>/<assignment>`` and return its per-cell scores."""
    folder = Path(api.coursedir.root) / "submitted" / student / assignment
    problems = unreadable_notebooks(folder)
    if problems:
        return AssignmentGrade(student, assignment, "not graded", message="; ".join(problems))
    result = api.autograde(assignment, student, force=True, create=True)
    if not result["success"]:
        return AssignmentGrade(student, assignment, "not graded",
                               message=_last_error_line(result.get("log", "")
                                                        + result.get("error", "")))
    autograded = Path(api.coursedir.root) / "autograded" / student / assignment
    return AssignmentGrade(student, assignment, "graded",
                           cells=read_scores(api, assignment, student, autograded))


def read_scores(api, assignment: str, student: str, autograded: Path) -> dict[str, CellScore]:
    """Per-cell automatic scores from the gradebook, with messages and times from the notebooks."""
    from nbgrader.api import Gradebook

    outcomes = {}
    for path in autograded.glob("*.ipynb"):
        outcomes |= cell_outcomes(nbformat.read(path, as_version=4))
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        submission = gradebook.find_submission(assignment, student)
        return {g.name: CellScore(g.name, float(g.auto_score or 0.0), float(g.max_score),
                                  *outcomes.get(g.name, ("", None)))
                for nb in submission.notebooks for g in nb.grades}


def cell_outcomes(nb: nbformat.NotebookNode) -> dict[str, tuple[str, float | None]]:
    """For each graded cell of an executed notebook: its error message and its run time."""
    outcomes = {}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type != "code" or not grade_id:
            continue
        errors = [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]
        outcomes[grade_id] = ("\n".join(errors), _seconds(cell.metadata.get("execution", {})))
    return outcomes


def _seconds(execution: dict) -> float | None:
    """Run time of a cell from the timestamps the kernel client records."""
    try:
        start = datetime.datetime.fromisoformat(execution["iopub.execute_input"])
        end = datetime.datetime.fromisoformat(execution["shell.execute_reply"])
    except (KeyError, ValueError):
        return None
    return (end - start).total_seconds()


def _last_error_line(log: str) -> str:
    """The most telling line of nbgrader's log: its last error."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    errors = [line for line in lines if "[ERROR]" in line or "Error" in line]
    return (errors or lines or ["unknown error"])[-1][:300]
