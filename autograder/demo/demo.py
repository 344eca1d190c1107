"""The main job: build a demo class for every assignment, grade it with the full pipeline.

For every assignment: ``solution`` (the worked solutions), ``buggy`` (one typical bug from the
assignment's catalogue, ``DEMO_BUGS``), ``blank`` (the release notebook untouched) and ``broken``
(a notebook cut off mid-file). Notebook 01 also gets malicious students from ``demo_class``.
Results go to ``graded/<assignment>/`` (summary.csv, cells.csv, feedback/, report.html).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from autograder import course_root, release
from autograder.author import submissions
from autograder.demo import demo_class
from autograder.grade.execute import grading
from autograder.grade.report import report
from autograder.grade.run import classroom

DEMO_BUGS = {"01_forward": "bug_stride_ignored", "02_gradcheck": "bug_directional_all_ones",
             "03_backward": "bug_dw_flipped_kernel",
             "04_stride_pad": "bug_crop_empty_at_pad0",
             "05_channels": "bug_dx_no_filter_sum",
             "06_fast": "bug_loop_over_pixels",  # right but slow: loses the speed points
             "07_capstone": "bug_wrapper_calls_torch_conv",
             "08_pooling": "bug_maxpool_tie_every_max",
             "09_dilation_groups": "bug_groups_ignored_in_dx"}
MALICIOUS = ("input-transformer", "patch-checks", "os-exit", "numpy-shadow")


def demo_bug(assignment: str) -> submissions.Variant:
    """The typical bug the ``buggy`` demo student makes in an assignment."""
    bugs = [v for v in submissions.catalogue(assignment) if v.is_bug]
    return next((v for v in bugs if v.name == DEMO_BUGS.get(assignment)), bugs[0])


def student_files(student: str, source: Path, released: Path, assignment: str) -> str:
    """The text of one generic demo student's notebook."""
    release_nb = nbformat.read(released, as_version=4)
    source_nb = nbformat.read(source, as_version=4)
    if student == "blank":
        return grading.notebook_text(release_nb)
    if student == "broken":
        text = grading.notebook_text(release_nb)
        return text[: len(text) // 2]
    if student == "solution":
        code = submissions.solution_cells(source_nb)
    else:
        code = submissions.variant_cells(source_nb, demo_bug(assignment))
    return grading.notebook_text(submissions.fill(release_nb, code))


def build_class(root: Path, assignment: str, folder: Path) -> None:
    """Write the demo students' folders for one assignment into ``folder``."""
    shutil.rmtree(folder, ignore_errors=True)
    pairs = list(zip(course_root.notebooks(root, assignment, "source"),
                     course_root.notebooks(root, assignment, "release"), strict=True))
    for student in ("solution", "buggy", "blank", "broken"):
        (folder / student).mkdir(parents=True)
        for source, released in pairs:
            (folder / student / released.name).write_text(
                student_files(student, source, released, assignment))
    if assignment == demo_class.ASSIGNMENT:
        source, released = pairs[0]
        demo_class.build(folder, source, released, list(MALICIOUS))


def format_table(assignment: str, outcomes: list[classroom.Outcome], max_score: float) -> str:
    """One line per student: score, status and why."""
    lines = [f"\n{assignment}", f"  {'student':<18} {'score':>9}  status"]
    for o in outcomes:
        why = "; ".join(o.flags) or o.message or ", ".join(
            g for g in sorted(o.cells) if o.points(g) < o.cells[g].max_score)
        lines.append(f"  {o.student:<18} {o.score:>4g} / {max_score:<3g} {o.status}"
                     + (f": {why[:110]}" if why else ""))
    return "\n".join(lines)


def run(root: Path = course_root.REPO_ROOT, workers: int | None = None
        ) -> dict[str, list[classroom.Outcome]]:
    """Regenerate the release, build the demo classes, grade them and print the tables."""
    options = classroom.Options(workers=workers or classroom.Options().workers)
    results = {}
    for assignment in release.generate(root):
        folder = root / "graded" / "demo-class" / assignment
        build_class(root, assignment, folder)
        out = root / "graded" / assignment
        outcomes, notes, max_score = classroom.grade_class(assignment, folder, out, options, root,
                                                           force=True)
        report.write(out, assignment, outcomes, notes, max_score)
        print(format_table(assignment, outcomes, max_score), flush=True)
        results[assignment] = outcomes
    print(f"\nReports: {root / 'graded'}/<assignment>/report.html")
    return results
