"""A graded run, saved as ``run.json`` in its output folder, so ``--student`` can regrade one
student and rewrite every output with the others' results unchanged."""

from __future__ import annotations

import dataclasses
import datetime
import json
from pathlib import Path

from autograder.grade.execute import grading
from autograder.grade.intake import lms
from autograder.grade.run.classroom import Outcome

NAME = "run.json"


class NoEarlierRun(FileNotFoundError):
    """``--student`` needs a run to regrade into."""


def save(out: Path, assignment: str, outcomes: list[Outcome], max_score: float) -> None:
    """Every outcome (feedback pages stay on disk, not here)."""
    rows = []
    for o in outcomes:
        row = dataclasses.asdict(o)
        row["feedback"] = {}
        row["submitted_at"] = o.submitted_at.isoformat() if o.submitted_at else None
        rows.append(row)
    (out / NAME).write_text(json.dumps({"assignment": assignment, "max_score": max_score,
                                        "outcomes": rows}, ensure_ascii=False, indent=1))


def load(out: Path, assignment: str) -> tuple[list[Outcome], float]:
    """The outcomes of the earlier run of ``assignment`` in ``out``."""
    path = out / NAME
    if not path.is_file():
        raise NoEarlierRun(f"no earlier run in {out} ({NAME} is missing): grade the class first")
    data = json.loads(path.read_text())
    if data["assignment"] != assignment:
        raise NoEarlierRun(f"{out} holds a run of {data['assignment']}, not {assignment}")
    outcomes = []
    for row in data["outcomes"]:
        row["cells"] = {g: grading.CellScore(**c) for g, c in row["cells"].items()}
        row["identity"] = lms.Identity(**row["identity"]) if row["identity"] else None
        row["submitted_at"] = (datetime.datetime.fromisoformat(row["submitted_at"])
                               if row["submitted_at"] else None)
        outcomes.append(Outcome(**row))
    return outcomes, data["max_score"]


def replace(earlier: list[Outcome], regraded: list[Outcome]) -> list[Outcome]:
    """The earlier outcomes with the regraded students' replaced (or added), in order."""
    new = {o.student: o for o in regraded}
    merged = [new.pop(o.student, o) for o in earlier]
    return merged + list(new.values())
