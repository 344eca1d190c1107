"""Shared fixtures: a private copy of the course, so nbgrader runs never touch the repository."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import course_root, release
from autograder.author import submissions

REPO = course_root.REPO_ROOT


def copy_course(destination: Path) -> Path:
    """Copy ``source/`` and the nbgrader config into ``destination`` (release/ is generated)."""
    shutil.copytree(REPO / "source", destination / "source")
    shutil.copy(REPO / course_root.CONFIG_FILE, destination)
    return destination


@pytest.fixture(scope="session")
def course(tmp_path_factory) -> Path:
    """A course folder with every assignment generated (and so in its own gradebook)."""
    root = copy_course(tmp_path_factory.mktemp("course"))
    release.generate(root)
    return root


def solution_namespace(assignment: str) -> dict:
    """The source notebook's solution cells, executed: the reference answers as functions.

    The notebooks import NumPy as ``np`` in their first cell; the solutions rely on it.
    """
    namespace: dict = {"np": np}
    for path in course_root.notebooks(REPO, assignment):
        for code in submissions.solution_cells(nbformat.read(path, as_version=4)).values():
            exec(compile(code, str(path), "exec"), namespace)  # noqa: S102 (our own solutions)
    return namespace


def pytest_sessionstart(session) -> None:
    """Forget the catalogue rows of an earlier run (on the controller, before workers start)."""
    if not hasattr(session.config, "workerinput"):
        shutil.rmtree(REPO / "build" / "catalogue-rows", ignore_errors=True)


def pytest_sessionfinish(session) -> None:
    """Write docs/catalogue.md from the rows this run's grading tests recorded."""
    rows_dir = REPO / "build" / "catalogue-rows"
    if hasattr(session.config, "workerinput") or not rows_dir.is_dir():
        return
    rows = [json.loads(p.read_text()) for p in sorted(rows_dir.glob("*.json"))]
    if len(rows) < sum(len(submissions.catalogue(a)) for a in course_root.assignments(REPO)):
        return  # a partial run (-k, a failure before grading) must not shrink the table
    lines = ["# The bug catalogue, as the grader sees it", "",
             "Written by `make test` (tests/test_grading.py): each known wrong implementation and",
             "each alternative correct one, graded by nbgrader's real autograde. A bug must lose",
             "exactly the cells of the concept it breaks; an alternative must keep full marks.", "",
             "| assignment | variant | function | what it is | score | cells failed "
             "| first message |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [r["assignment"], f"`{r['variant']}`", r["functions"], r["description"],
                 r["score"], r["failed"], r["message"].replace("|", "\\|")]
        lines.append("| " + " | ".join(cells) + " |")
    (REPO / "docs").mkdir(exist_ok=True)
    (REPO / "docs" / "catalogue.md").write_text("\n".join(lines) + "\n")
