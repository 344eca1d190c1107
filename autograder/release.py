"""Regenerate ``release/`` from ``source/`` with ``nbgrader generate_assignment``."""

from __future__ import annotations

from pathlib import Path

from autograder import course_root


class ReleaseError(RuntimeError):
    """nbgrader could not generate an assignment."""


def generate(root: Path, assignments: list[str] | None = None,
             db_url: str | None = None) -> list[str]:
    """Generate the student version of each assignment (all by default); return their names."""
    api = course_root.api(root, db_url)
    names = assignments or course_root.assignments(root)
    for name in names:
        result = api.generate_assignment(name, force=True, create=True)
        if not result["success"]:
            raise ReleaseError(f"generate_assignment {name} failed:\n{result.get('log', '')}"
                               f"{result.get('error', '')}")
    return names
