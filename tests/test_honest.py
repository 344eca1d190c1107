"""An honest class for every notebook (autograder/honest_class.py): ordinary student habits
cost nothing, in ``grade`` and in ``check`` alike.

Each notebook's class is graded once through ``autograder grade``; every honest student must end
with the points of ``textbook`` (the same solution typed into the release notebook), cell by
cell, with status ``graded`` and no flag. ``autograder check`` on the same files must give the
verdict ``grade`` gave, cell by cell (the visible tests are a subset of the hidden ones).
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

from autograder import check, cli, course_root, honest_class

pytestmark = [
    pytest.mark.skipif(shutil.which("bwrap") is None and os.environ.get("CI") != "true",
                       reason="bubblewrap is not installed (CI installs it; see .ci/run)"),
    pytest.mark.xdist_group("honest-class"),
]
ASSIGNMENTS = course_root.assignments()
HONEST = [s.name for s in honest_class.STUDENTS if s.name != "textbook"]
_graded: dict[str, Path] = {}


def rows(path: Path) -> list[dict]:
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def graded(assignment: str, tmp_path_factory) -> Path:
    """The honest class of one assignment, graded once (two workers, as on a 2-core machine)."""
    if assignment not in _graded:
        folder = tmp_path_factory.mktemp(f"honest-{assignment}")
        honest_class.build(folder / "submissions", assignment)
        assert cli.main(["grade", assignment, str(folder / "submissions"), "--out",
                         str(folder / "graded"), "--workers", "2"]) == 0
        _graded[assignment] = folder
    return _graded[assignment]


def cell_points(folder: Path) -> dict[str, dict[str, tuple[float, float]]]:
    """(points, max points) by student and cell, from cells.csv."""
    table: dict[str, dict[str, tuple[float, float]]] = {}
    for row in rows(folder / "graded" / "cells.csv"):
        table.setdefault(row["student_id"], {})[row["cell"]] = (float(row["points"]),
                                                               float(row["max_points"]))
    return table


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_honest_habits_keep_the_textbook_points(assignment, tmp_path_factory):
    folder = graded(assignment, tmp_path_factory)
    summary = {r["student_id"]: r for r in rows(folder / "graded" / "summary.csv")}
    points = cell_points(folder)
    assert points["textbook"] and sum(p for p, _ in points["textbook"].values()) > 0
    for student in HONEST:
        assert summary[student]["status"] == "graded", summary[student]
        assert summary[student]["flags"] == "", summary[student]
        assert points[student] == points["textbook"], student


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_check_gives_the_verdict_grade_gave(assignment, tmp_path_factory):
    folder = graded(assignment, tmp_path_factory)
    points = cell_points(folder)
    for student in HONEST:
        notebook = next((folder / "submissions" / student).glob("*.ipynb"))
        checked = check.check(notebook)
        assert checked.notes == [], (student, checked.notes)
        verdict = {r.grade_id: not r.error for r in checked.results}
        assert verdict, student
        assert verdict == {cell: points[student][cell][0] == points[student][cell][1]
                           for cell in verdict}, (student, checked.results)
