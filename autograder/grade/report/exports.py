"""Grades out, ready to import: Canvas, Moodle, Gradescope-style JSON and a wide spreadsheet.

Every CSV is UTF-8 with a byte-order mark (Excel reads it right) and no cell can run as a
formula: one that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
leading ``'`` (OWASP's advice against CSV injection). Scores go out after nbgrader's late penalty;
a student who was not graded gets an empty grade (the LMS keeps what it has), never a 0.
"""

from __future__ import annotations

import csv
import json
import textwrap
from collections.abc import Iterable
from pathlib import Path

from traitlets import Dict, Unicode
from traitlets.config import LoggingConfigurable

from autograder import course_root
from autograder.grade.run.classroom import Outcome

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = ["Identifier", "Full name", "Email address", "Grade", "Maximum Grade",
                  "Feedback comments"]
GRADED = ("graded", "needs review")


class GradeExport(LoggingConfigurable):
    """What the LMS calls each assignment (``c.GradeExport.canvas_assignment_ids``)."""

    canvas_assignment_ids = Dict(value_trait=Unicode(), default_value={},
                                 help="Canvas assignment id of each assignment, e.g. "
                                 "{'01_forward': '12345'}: the grade column is titled "
                                 "'01_forward (12345)', as Canvas's import matches it.").tag(
                                     config=True)


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text, never runs."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(path: Path, header: list[str], rows: Iterable[list[object]]) -> None:
    """A CSV an instructor can open in Excel: BOM, every cell neutralised."""
    with path.open("w", newline="", encoding="utf-8-sig") as file:
        writer = csv.writer(file)
        writer.writerow([safe_cell(h) for h in header])
        writer.writerows([safe_cell(c) for c in row] for row in rows)


def shorten(text: str, width: int = 300) -> str:
    """One line of at most ``width`` characters, cut between words."""
    return textwrap.shorten(" ".join(text.split()), width, placeholder=" …")


def _grade(outcome: Outcome) -> str:
    return f"{outcome.final_score:g}" if outcome.status in GRADED else ""


def students(outcomes: list[Outcome]) -> list[Outcome]:
    """The outcomes that are students (ignored entries are not)."""
    return [o for o in outcomes if o.student]


def write_all(out: Path, assignment: str, outcomes: list[Outcome], max_score: float,
              root: Path = course_root.REPO_ROOT) -> list[str]:
    """Every export into ``out``; the names written."""
    config = course_root.load_config(root) if (root / course_root.CONFIG_FILE).exists() else None
    ids = GradeExport(config=config).canvas_assignment_ids if config else {}
    write_canvas(out / "grades-canvas.csv", assignment, ids.get(assignment, ""), outcomes,
                 max_score)
    write_moodle(out / "grades-moodle.csv", outcomes, max_score)
    write_wide(out / "grades-wide.csv", outcomes, max_score)
    write_results(out / "results", outcomes)
    return ["grades-canvas.csv", "grades-moodle.csv", "grades-wide.csv", "results/"]


def write_canvas(path: Path, assignment: str, canvas_id: str, outcomes: list[Outcome],
                 max_score: float) -> None:
    """Canvas's gradebook import: matched on the Canvas user id (``ID``) where intake read one
    from a Canvas export, else on ``SIS Login ID`` (the id as submitted)."""
    column = f"{assignment} ({canvas_id})" if canvas_id else assignment
    rows: list[list[object]] = [["    Points Possible", "", "", "", "", f"{max_score:g}"]]
    for o in students(outcomes):
        who = o.who
        canvas = who.source == "canvas"
        rows.append([who.name or who.student_id, who.lms_user_id if canvas else "", "",
                     "" if canvas else who.student_id, "", _grade(o)])
    write_csv(path, [*CANVAS_COLUMNS, column], rows)


def write_moodle(path: Path, outcomes: list[Outcome], max_score: float) -> None:
    """Moodle's grading worksheet columns: ``Identifier`` is ``Participant <id>`` for a Moodle
    export (the id in its folder names), else the id as submitted."""
    rows = []
    for o in students(outcomes):
        who = o.who
        identifier = (f"Participant {who.lms_user_id}" if who.source == "moodle"
                      else who.student_id)
        feedback = o.message if o.status not in GRADED else \
            f"{o.final_score:g} / {max_score:g}" + (
                f" (late penalty {o.late_penalty:g})" if o.late_penalty else "")
        rows.append([identifier, who.name or who.student_id,
                     who.student_id if "@" in who.student_id else "", _grade(o),
                     f"{max_score:g}", shorten(feedback, 1000)])
    write_csv(path, MOODLE_COLUMNS, rows)


def write_wide(path: Path, outcomes: list[Outcome], max_score: float) -> None:
    """One row per student, one column per graded cell in notebook order."""
    questions = list(dict.fromkeys(g for o in outcomes for g in o.cells))
    header = ["student_id", "lms_user_id", "name", "status", "score", "late_penalty",
              "final_score", "max_score", *questions]
    rows = []
    for o in students(outcomes):
        who = o.who
        cells = [f"{o.points(g):g}" if g in o.cells else "" for g in questions]
        graded = o.status in GRADED
        rows.append([who.student_id, who.lms_user_id, who.name, o.status,
                     f"{o.score:g}" if graded else "", f"{o.late_penalty:g}" if graded else "",
                     _grade(o), f"{max_score:g}", *cells])
    write_csv(path, header, rows)


def results_json(outcome: Outcome) -> dict:
    """Gradescope's autograder ``results.json`` for one student."""
    tests = [{"score": outcome.points(g), "max_score": c.max_score, "name": g,
              "number": str(i), "output": c.message, "tags": [], "visibility": "visible"}
             for i, (g, c) in enumerate(outcome.cells.items(), start=1)]
    seconds = sum(c.seconds or 0.0 for c in outcome.cells.values())
    summary = outcome.message or "; ".join(outcome.flags)
    return {"score": outcome.final_score if outcome.status in GRADED else 0.0,
            "execution_time": round(seconds, 3), "output": f"{outcome.status}"
            + (f": {summary}" if summary else ""), "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests}


def write_results(folder: Path, outcomes: list[Outcome]) -> None:
    """``results/<student key>.json``, one per student."""
    folder.mkdir(parents=True, exist_ok=True)
    for o in students(outcomes):
        (folder / f"{o.student}.json").write_text(
            json.dumps(results_json(o), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
