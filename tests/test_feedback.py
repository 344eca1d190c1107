"""Feedback a student can read: a failed check is its message, not the course's frames, in the
student's own kernel and in the feedback page; the page renders its formulas with no network and
shows the recorded score where the re-check overruled nbgrader."""

from __future__ import annotations

import csv
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from test_site import Chromium

from autograder import cli, course_root
from autograder.demo import demo_class

REPO = course_root.REPO_ROOT
SOURCE = REPO / "source" / demo_class.ASSIGNMENT / demo_class.NOTEBOOK
RELEASE = REPO / "release" / demo_class.ASSIGNMENT / demo_class.NOTEBOOK
COURSE_FRAME = re.compile(r"course/\w+\.py|File .*course")


def test_a_failed_check_in_the_student_s_kernel_is_its_message():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from course import cases, forward_checks\n"
        "def conv2d_single_forward(x, w, b=0.0, stride=1, pad=0):\n"
        "    return x[:x.shape[0] - w.shape[0] + 1, :x.shape[1] - w.shape[1] + 1] * 0\n"
        "forward_checks.check_single_forward(conv2d_single_forward, cases.SINGLE['basic'][:1])")])
    NotebookClient(nb, timeout=120, allow_errors=True, kernel_name="python3").execute()
    error = next(o for o in nb.cells[0].outputs if o.output_type == "error")
    assert error.ename == "CheckFailure" and "on x" in error.evalue
    shown = "\n".join(error.traceback)
    assert shown.startswith("CheckFailure: ") and not COURSE_FRAME.search(shown), shown
    assert len(error.traceback) <= 3, shown


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    if shutil.which("bwrap") is None and os.environ.get("CI") != "true":
        pytest.skip("bubblewrap is not installed (CI installs it; see .ci/run)")
    folder = tmp_path_factory.mktemp("feedback")
    demo_class.build(folder / "submissions", SOURCE, RELEASE, ["buggy", "torch-caller"])
    assert cli.main(["grade", demo_class.ASSIGNMENT, str(folder / "submissions"), "--out",
                     str(folder / "graded"), "--workers", "1"]) == 0
    return folder / "graded"


def page(graded: Path, student: str) -> Path:
    return graded / "feedback" / student / demo_class.NOTEBOOK.replace(".ipynb", ".html")


def test_a_failed_check_in_the_feedback_page_is_its_message(graded):
    text = page(graded, "buggy").read_text()
    assert "Likely cause: your output is the stride-1 result" in text
    assert not COURSE_FRAME.search(text)


def test_the_page_shows_the_score_the_re_check_recorded(graded):
    with (graded / "summary.csv").open(newline="", encoding="utf-8-sig") as file:
        summary = {r["student_id"]: r for r in csv.DictReader(file)}["torch-caller"]
    text = page(graded, "torch-caller").read_text()
    assert f"(Score: {float(summary['score']):g}.0 / {float(summary['max_score']):g}.0)" in text
    assert "Recorded: 0 of" in text and "re-check" in text


def test_the_page_renders_its_formulas_with_no_network(graded, tmp_path):
    binary = shutil.which("/usr/bin/chromium") or shutil.which("chromium")
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    browser = Chromium(binary, tmp_path)  # a fresh profile; every http(s) request is blocked
    try:
        browser.open(page(graded, "buggy").as_uri())
        formulas = browser.js("Array.from(document.querySelectorAll('math'), "
                              "m => m.getBoundingClientRect().width)")
        text = browser.js("document.body.innerText")
    finally:
        browser.close()
    assert formulas and all(width > 0 for width in formulas)
    assert "$$" not in text and "\\frac" not in text
    assert "How this notebook was graded" in text
