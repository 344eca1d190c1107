"""Shared fixtures: a private copy of the course, so nbgrader runs never touch the repository."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import course_root, release, submissions

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
