"""Benchmarks of grading, measured as ratios in one run on this machine.

1. A class of 12 submissions of notebook 01 (solutions, a typical bug, blanks), graded by stock
   ``nbgrader autograde`` (one CLI call, sequential, no sandbox, no re-check) and by
   ``autograder grade`` (sandboxed, verified; 1 and 2 workers).
2. One full-marks submission of every assignment, autograded through nbgrader's Python API: the
   whole course's grading cost per student, and the slowest test cell.

Reproduce with ``.venv/bin/python benchmarks/run.py``; it rewrites ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder import course_root, release
from autograder.author import submissions
from autograder.demo import demo
from autograder.grade.execute import grading

HERE = Path(__file__).resolve().parent
CLASS = {"solution": 6, "buggy": 3, "blank": 3}
ASSIGNMENT = "01_forward"


def course_copy(root: Path) -> list[str]:
    """A private course folder (source and config) with every assignment generated."""
    shutil.copytree(course_root.REPO_ROOT / "source", root / "source")
    shutil.copy(course_root.REPO_ROOT / course_root.CONFIG_FILE, root)
    return release.generate(root)


def build_class(root: Path, folder: Path) -> list[str]:
    """``folder/<student>/01_forward.ipynb`` for the benchmark class; return the students."""
    source, released = (course_root.notebooks(root, ASSIGNMENT, stage)[0]
                        for stage in ("source", "release"))
    students = []
    for kind, count in CLASS.items():
        text = demo.student_files(kind, source, released, ASSIGNMENT)
        for number in range(count):
            student = f"{kind}-{number}"
            (folder / student).mkdir(parents=True)
            (folder / student / released.name).write_text(text)
            students.append(student)
    return students


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def class_benchmark(tmp: Path) -> list[str]:
    root = tmp / "stock"
    course_copy(root)
    students = build_class(root, tmp / "class")
    for student in students:
        shutil.copytree(tmp / "class" / student, root / "submitted" / student / ASSIGNMENT)
    scripts = Path(sys.executable).parent
    stock = timed([str(scripts / "nbgrader"), "autograde", ASSIGNMENT, "--force"], root)
    ours = {workers: timed([sys.executable, "-m", "autograder", "grade", ASSIGNMENT,
                            str(tmp / "class"), "--out", str(tmp / f"graded-{workers}"),
                            "--workers", str(workers)], course_root.REPO_ROOT)
            for workers in (1, 2)}
    protections = "sandbox, intake, re-check, feedback, report"
    return [
        f"## A class of {len(students)} submissions of {ASSIGNMENT}", "",
        "| grader | protections | seconds | speed-up |", "|---|---|---|---|",
        f"| stock `nbgrader autograde` (one CLI call) | none | {stock:.1f} | 1.00 |",
        f"| `autograder grade --workers 1` | {protections} | {ours[1]:.1f} | "
        f"{stock / ours[1]:.2f} |",
        f"| `autograder grade --workers 2` | {protections} | {ours[2]:.1f} | "
        f"**{stock / ours[2]:.2f}** |", "",
        "Each grading process forks its sandboxed kernels from a warm zygote (docs/grading.md), "
        "so a kernel does not pay for importing PyTorch and the checks; one worker shows the "
        "cost per submission, two show the cores used.", ""]


def course_benchmark(tmp: Path) -> list[str]:
    root = tmp / "course"
    names = course_copy(root)
    api = course_root.api(root)
    lines = ["## One full-marks submission of every assignment (nbgrader Python API)", "",
             "| assignment | seconds | slowest test cell (s) |", "|---|---|---|"]
    total = 0.0
    for name in names:
        notebooks = {}
        for source, released in zip(course_root.notebooks(root, name),
                                    course_root.notebooks(root, name, "release"), strict=True):
            code = submissions.solution_cells(nbformat.read(source, as_version=4))
            notebooks[released.name] = grading.notebook_text(
                submissions.fill(nbformat.read(released, as_version=4), code))
        grading.submit(root, name, "bench", notebooks)
        start = time.perf_counter()
        result = grading.autograde(api, name, "bench")
        seconds = time.perf_counter() - start
        assert result.score == result.max_score, f"{name}: the solution lost points"
        total += seconds
        slowest = max(c.seconds or 0.0 for c in result.cells.values())
        lines.append(f"| {name} | {seconds:.1f} | {slowest:.2f} |")
    lines += [f"| **whole course** | **{total:.1f}** | |", ""]
    return lines


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        lines = ["# Grading benchmarks", "",
                 f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
                 f"{platform.python_version()}. Produced by `benchmarks/run.py` in one run "
                 f"({time.strftime('%Y-%m-%d')}); compare the ratios, not the seconds.", ""]
        lines += class_benchmark(Path(tmp))
        lines += course_benchmark(Path(tmp))
    (HERE / "RESULTS.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
