"""The instructor's autograder on a hostile class: every submission gets what it deserves.

One class of honest, wrong, broken and malicious submissions (autograder/demo/demo_class.py) is
graded once, sandboxed, with two workers; each student is then checked against what a fair grader
must do: cells that keep their points, cells that earn nothing, the status and the flag that says
why.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import cli, course_root
from autograder.demo import demo_class
from autograder.grade.intake import intake

REPO = course_root.REPO_ROOT
SOURCE = REPO / "source" / demo_class.ASSIGNMENT / demo_class.NOTEBOOK
RELEASE = REPO / "release" / demo_class.ASSIGNMENT / demo_class.NOTEBOOK

pytestmark = [
    pytest.mark.skipif(shutil.which("bwrap") is None and os.environ.get("CI") != "true",
                       reason="bubblewrap is not installed (CI installs it; see .ci/run)"),
    # One worker grades the class once (the fixture is per module and per worker).
    pytest.mark.xdist_group("hostile-class"),
]
# Per cell; generous so that a loaded CI machine never times out an honest cell.
CELL_TIMEOUT = "20"


def rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8-sig") as file:
        return list(csv.DictReader(file))


def grade(submissions: Path, out: Path, workers: int) -> int:
    return cli.main(["grade", demo_class.ASSIGNMENT, str(submissions), "--out", str(out),
                     "--workers", str(workers), "--cell-timeout", CELL_TIMEOUT])


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile-class")
    demo_class.build(folder / "submissions", SOURCE, RELEASE)
    assert grade(folder / "submissions", folder / "graded", workers=2) == 0
    return folder / "graded"


@pytest.mark.parametrize("student", demo_class.STUDENTS, ids=lambda s: s.name)
def test_each_submission_gets_what_it_deserves(graded, student):
    summary = {r["student_id"]: r for r in rows(graded / "summary.csv")}[student.name]
    cells = {r["cell"]: r for r in rows(graded / "cells.csv") if r["student_id"] == student.name}
    assert summary["status"] == student.status, summary
    if student.says:
        assert student.says in summary["flags"] + summary["message"], summary
    if student.status == "not graded":
        assert float(summary["score"]) == 0 and not cells
        return
    assert set(student.full) | set(student.zero) == set(cells), "the expectation covers all"
    for cell in student.full:
        assert cells[cell]["points"] == cells[cell]["max_points"], (cell, cells[cell])
    for cell in student.zero:
        assert float(cells[cell]["points"]) == 0, (cell, cells[cell])
    assert float(summary["score"]) == sum(float(cells[c]["max_points"]) for c in student.full)


def test_no_student_process_outlives_grading(graded):
    flood = [p for p in Path("/proc").iterdir() if p.name.isdigit()
             and b"37.5" in _read(p / "cmdline")]
    assert not flood, f"{len(flood)} processes of the fork flood are still running"


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def test_feedback_shows_no_hidden_test(graded):
    hidden, visible = set(), set()
    for cell in nbformat.read(SOURCE, as_version=4).cells:
        before, _, rest = cell.source.partition("### BEGIN HIDDEN TESTS")
        inside, _, after = rest.partition("### END HIDDEN TESTS")
        hidden |= {line.strip() for line in inside.splitlines() if line.strip()}
        visible |= {line.strip() for line in (before + after).splitlines()}
    secret = hidden - visible
    assert secret, "the source notebook has no hidden-only test line to look for"
    pages = list((graded / "feedback").rglob("*.html"))
    assert len(pages) >= 15
    for page in pages:
        text = page.read_text()
        assert "BEGIN HIDDEN TESTS" not in text
        assert not [line for line in secret if line in text], page


def test_feedback_shows_nothing_printed_after_hidden_tests_ran(graded):
    page = (graded / "feedback" / "hidden-test-printer" / demo_class.NOTEBOOK.replace(
        ".ipynb", ".html")).read_text()
    assert "not shown in feedback" in page


def test_feedback_runs_no_script_of_the_student(graded):
    page = (graded / "feedback" / "script-injector" / demo_class.NOTEBOOK.replace(
        ".ipynb", ".html")).read_text()
    assert "<b>hi</b>" in page  # the harmless HTML is shown; the script, the handler and the
    assert f"<script>{demo_class.SCRIPT}" not in page  # JavaScript output are not (escaped or
    assert not re.search(r"<img[^>]*onerror", page)  # removed)
    assert "application/javascript" not in page
    assert not re.search(r"href=[\"']?javascript:", page)  # Markdown and LaTeX outputs are
    assert "output_latex" not in page and "output_markdown" not in page  # dropped
    assert len(page) < 5_000_000  # the flood of displayed text was not kept


def test_no_encoding_of_a_test_cell_reaches_feedback(graded):
    import base64
    import zlib

    encodings = set()
    for cell in nbformat.read(SOURCE, as_version=4).cells:
        if "BEGIN HIDDEN TESTS" in cell.source:
            raw = cell.source.encode()
            encodings |= {base64.b64encode(raw).decode()[:60], raw.hex()[:60],
                          base64.b64encode(zlib.compress(raw)).decode()[:60]}
    pages = [p.read_text() for p in (graded / "feedback").rglob("*.html")]
    assert encodings and pages
    assert not [e for e in encodings for page in pages if e in page]


def test_class_report_has_plots_and_misconceptions(graded):
    report = (graded / "report.html").read_text()
    assert report.count("data:image/png;base64,") >= 2
    assert "stride-1 result" in report  # the buggy student's likely cause, counted
    assert "input-transformer" in report


def test_parallel_and_sequential_runs_agree(tmp_path):
    names = ["solution", "buggy", "blank", "os-exit", "renamed", "broken"]
    demo_class.build(tmp_path / "submissions", SOURCE, RELEASE, names)
    for workers in (1, 2):
        assert grade(tmp_path / "submissions", tmp_path / f"out{workers}", workers) == 0
    for name in ("summary.csv", "cells.csv"):
        assert (tmp_path / "out1" / name).read_text() == (tmp_path / "out2" / name).read_text()


def test_a_missing_sandbox_is_refused_with_a_clear_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert grade(tmp_path, tmp_path / "out", workers=1) == 2
    assert "bubblewrap" in capsys.readouterr().out


def test_an_lms_zip_with_junk_is_read_student_by_student(tmp_path):
    demo_class.build(tmp_path / "class", SOURCE, RELEASE, ["solution", "blank"])
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(tmp_path / "class" / "solution" / demo_class.NOTEBOOK,
                 f"solution/{demo_class.NOTEBOOK}")
        zf.write(tmp_path / "class" / "blank" / demo_class.NOTEBOOK,
                 f"lovelace_1234_5678_{demo_class.NOTEBOOK}")
        zf.writestr("__MACOSX/._junk", b"junk")
        zf.writestr("../escape.ipynb", b"{}")
        zf.writestr("readme.txt", b"hello")
        zf.writestr("solution/notes.pdf", b"%PDF")
    found = intake.collect(archive)
    students = found.by_key()
    assert sorted(students) == ["lovelace", "solution"]
    assert students["lovelace"].who.lms_user_id == "1234"
    assert any("unsafe path" in n for n in found.ignored)
    assert any("readme.txt" in n for n in found.ignored)
    assert any("notes.pdf" in f for f in students["solution"].flags)
