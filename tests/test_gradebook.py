"""Recording in the course gradebook: nbgrader's own rows, in SQLite by default or in a real
PostgreSQL server started on loopback; the same results whichever database, once per student."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder import cli, course_root
from autograder.demo import demo_class
from tests import postgres

REPO = course_root.REPO_ROOT
SOURCE = REPO / "source" / demo_class.ASSIGNMENT / demo_class.NOTEBOOK
RELEASE = REPO / "release" / demo_class.ASSIGNMENT / demo_class.NOTEBOOK
STUDENTS = ["solution", "buggy", "blank", "torch-caller", "broken"]

pytestmark = [
    pytest.mark.skipif(shutil.which("bwrap") is None and os.environ.get("CI") != "true",
                       reason="bubblewrap is not installed (CI installs it; see .ci/run)"),
    pytest.mark.xdist_group("gradebook"),
]


@pytest.fixture(scope="module")
def postgres_url():
    """A throwaway PostgreSQL server on 127.0.0.1 with an empty database."""
    try:
        with postgres.server() as url:
            yield url
    except postgres.Unavailable as why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why} (CI installs PostgreSQL and runs as root)")
        pytest.skip(str(why))


def _course(tmp: Path) -> Path:
    root = tmp / "course"
    shutil.copytree(REPO / "source", root / "source")
    shutil.copy(REPO / course_root.CONFIG_FILE, root)
    demo_class.build(tmp / "class", SOURCE, RELEASE, STUDENTS)
    return root


def _grade(root: Path, submissions: Path, *extra: str) -> None:
    assert cli.main(["--root", str(root), "grade", demo_class.ASSIGNMENT, str(submissions),
                     "--out", str(root / "graded"), "--record", "--cell-timeout", "20",
                     *extra]) == 0


def _scores(url: str) -> dict[str, float]:
    with Gradebook(url, "conv2d-backprop") as gradebook:
        return {s.student.id: s.score
                for s in gradebook.assignment_submissions(demo_class.ASSIGNMENT)}


def _summary(root: Path) -> dict[str, float]:
    with (root / "graded" / "summary.csv").open(newline="", encoding="utf-8-sig") as file:
        return {r["student_id"]: float(r["score"]) for r in csv.DictReader(file)
                if r["status"] != "not graded"}


def _rows(url: str) -> dict:
    """Every student's recorded cells: (automatic score, manual score) by grade id."""
    with Gradebook(url, "conv2d-backprop") as gradebook:
        return {s.student.id: {g.name: (g.auto_score, g.manual_score)
                               for nb in s.notebooks for g in nb.grades}
                for s in gradebook.assignment_submissions(demo_class.ASSIGNMENT)}


def _comments(url: str) -> dict[str, set]:
    """Every student's automatic comments on their answers ("No response." when untouched)."""
    with Gradebook(url, "conv2d-backprop") as gradebook:
        return {s.student.id: {c.auto_comment for nb in s.notebooks for c in nb.comments}
                for s in gradebook.assignment_submissions(demo_class.ASSIGNMENT)}


def test_results_are_recorded_once_and_alike_in_sqlite_and_postgresql(tmp_path, postgres_url):
    root = _course(tmp_path)
    _grade(root, tmp_path / "class")
    sqlite_url = f"sqlite:///{root / 'gradebook.db'}"
    recorded = _rows(sqlite_url)
    assert sorted(recorded) == ["blank", "buggy", "solution", "torch-caller"]  # broken: not graded
    with Gradebook(sqlite_url, "conv2d-backprop") as gradebook:  # but a student all the same
        assert sorted(s.id for s in gradebook.students) == sorted(STUDENTS)
    assert all(auto == 2 and manual == 0 for cell, (auto, manual) in
               recorded["torch-caller"].items() if cell == "test_forward_basic")
    assert (root / "autograded" / "solution" / demo_class.ASSIGNMENT).is_dir()
    assert _scores(sqlite_url) == _summary(root)  # the re-check's overrule is recorded too

    assert _comments(sqlite_url) == {"blank": {"No response."}, "buggy": {None},
                                     "solution": {None}, "torch-caller": {None}}

    _grade(root, tmp_path / "class", "--db-url", postgres_url)
    _grade(root, tmp_path / "class", "--db-url", postgres_url)  # twice: recorded once
    assert _rows(postgres_url) == recorded
    assert _scores(postgres_url) == _summary(root)
    for marker in (root / "graded" / "journal" / demo_class.ASSIGNMENT).glob("recorded-*"):
        marker.unlink()  # the journal forgets: everyone is recorded again, over the same rows
    _grade(root, tmp_path / "class", "--db-url", postgres_url)
    assert _rows(postgres_url) == recorded and _scores(postgres_url) == _summary(root)
    with Gradebook(postgres_url, "conv2d-backprop") as gradebook:
        assert len(gradebook.assignment_submissions(demo_class.ASSIGNMENT)) == 4
