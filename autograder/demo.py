"""The main job: build a small demo class, grade it with nbgrader, print a table.

Students, for every assignment that exists: ``demo-solution`` (the source solutions),
``demo-blank`` (the release notebook untouched), ``demo-buggy`` (the solution with one typical
bug from the assignment's catalogue, ``DEMO_BUGS``) and ``demo-broken`` (a notebook cut off
mid-file: invalid JSON).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from autograder import course_root, grading, release, submissions

STUDENTS = ("demo-solution", "demo-buggy", "demo-blank", "demo-broken")
DEMO_BUGS = {"01_forward": "bug_stride_ignored"}


def demo_notebook(student: str, source: Path, released: Path, assignment: str) -> str:
    """The text of one demo student's notebook."""
    release_nb = nbformat.read(released, as_version=4)
    source_nb = nbformat.read(source, as_version=4)
    if student == "demo-blank":
        return grading.notebook_text(release_nb)
    if student == "demo-broken":
        text = grading.notebook_text(release_nb)
        return text[: len(text) // 2]
    if student == "demo-solution":
        code = submissions.solution_cells(source_nb)
    else:
        bugs = [v for v in submissions.catalogue(assignment) if v.is_bug]
        bug = next((v for v in bugs if v.name == DEMO_BUGS.get(assignment)), bugs[0])
        code = submissions.variant_cells(source_nb, bug)
    return grading.notebook_text(submissions.fill(release_nb, code))


def build_class(root: Path, assignments: list[str]) -> None:
    """Write every demo student's submissions under ``root/submitted``."""
    for student in STUDENTS:
        shutil.rmtree(root / "submitted" / student, ignore_errors=True)
        for assignment in assignments:
            pairs = zip(course_root.notebooks(root, assignment, "source"),
                        course_root.notebooks(root, assignment, "release"), strict=True)
            grading.submit(root, assignment, student,
                           {s.name: demo_notebook(student, s, r, assignment) for s, r in pairs})


def format_table(grades: list[grading.AssignmentGrade]) -> str:
    """One line per student and assignment: score, status and what lost points."""
    lines = [f"{'student':<15} {'assignment':<14} {'score':>11}  status / cells that lost points"]
    for g in grades:
        detail = g.message if g.status != "graded" else ", ".join(g.failed_cells()) or "-"
        score = f"{g.score:g} / {g.max_score:g}" if g.status == "graded" else "-"
        lines.append(f"{g.student:<15} {g.assignment:<14} {score:>11}  {g.status}: {detail}")
    return "\n".join(lines)


def run(root: Path = course_root.REPO_ROOT) -> list[grading.AssignmentGrade]:
    """Regenerate the release, build the demo class, grade it and print the table."""
    assignments = release.generate(root)
    build_class(root, assignments)
    grades = [grade for assignment in assignments
              for grade in grading.autograde_all(root, assignment, list(STUDENTS))]
    print(format_table(grades))
    return grades
