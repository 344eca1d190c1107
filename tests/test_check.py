"""The students' verb: `autograder check NOTEBOOK` grades a saved notebook as `grade` does, on the
visible tests: the rebuilt notebook, only the cells grading runs, the re-check."""

from __future__ import annotations

import nbformat
import pytest

from autograder import cli, course_root
from autograder.author import submissions
from autograder.check import check
from autograder.grade.execute import grading

REPO = course_root.REPO_ROOT
FORWARD = "solution_conv2d_single_forward"


def notebook(tmp_path, assignment: str, code: dict[str, str] | None = None, name: str = ""):
    """The release notebook of ``assignment``, its solution cells filled (``code`` on top)."""
    source = course_root.notebooks(REPO, assignment)[0]
    released = course_root.notebooks(REPO, assignment, "release")[0]
    cells = submissions.solution_cells(nbformat.read(source, as_version=4)) | (code or {})
    path = tmp_path / (name or released.name)
    path.write_text(grading.notebook_text(submissions.fill(nbformat.read(released, as_version=4),
                                                          cells)))
    return path


def test_blank_notebook_fails_and_solution_passes(tmp_path, capsys):
    released = course_root.notebooks(REPO, "01_forward", "release")[0]
    blank = tmp_path / "blank" / released.name
    blank.parent.mkdir()
    blank.write_text(released.read_text())
    assert cli.main(["check", str(blank)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  test_forward_basic" in out and "not implemented yet" in out

    (tmp_path / "solved").mkdir()
    solved = notebook(tmp_path / "solved", "01_forward")
    results = check.check(solved).results
    assert results and all(not r.error for r in results)
    total = sum(r.points for r in results)
    assert cli.main(["check", str(solved)]) == 0
    assert f"Visible tests: {total:g} of {total:g} points pass" in capsys.readouterr().out


def test_a_graded_function_that_borrows_the_reference_fails_as_in_grade(tmp_path):
    """The sealed re-check runs in check too: no pass in check and zero in grade."""
    borrowed = ("from course import reference\n\n"
                "def conv2d_single_backward(dout, x, w):\n"
                "    return reference.conv2d_single_backward(dout, x, w)\n")
    path = notebook(tmp_path, "03_backward", {"solution_conv2d_single_backward": borrowed})
    results = check.check(path).results
    assert results and all("re-check" in r.error for r in results), results


def test_a_syntax_error_is_named_as_one(tmp_path):
    broken = "def conv2d_single_forward(x, w, b=0.0, stride=1, pad=0)\n    return x\n"
    checked = check.check(notebook(tmp_path, "01_forward", {FORWARD: broken}))
    assert any("SyntaxError in solution cell " + FORWARD in note for note in checked.notes)
    failed = [r for r in checked.results if r.error]
    assert failed and all(r.error.startswith("conv2d_single_forward is not defined: SyntaxError")
                          for r in failed), failed


def test_a_slow_cell_fails_alone_and_the_others_are_reported(tmp_path):
    slow_size = ("import time\n\ndef conv_output_size(n, k, stride=1, pad=0):\n"
                 "    time.sleep(30)\n    return (n + 2 * pad - k) // stride + 1\n")
    checked = check.check(notebook(tmp_path, "01_forward", {"solution_conv_output_size":
                                                            slow_size}), timeout=5)
    by_cell = {r.grade_id: r.error for r in checked.results}
    assert "CellTimeoutError" in by_cell["test_output_size_basic"]
    assert not by_cell["test_forward_basic"] and not by_cell["test_forward_bad_input"]


@pytest.mark.parametrize(("content", "says"), [
    (None, "no such file"),
    (b"print('hello')\n", "is not a notebook"),
    (b'{"cells": [', "is not a valid notebook"),
    (b'{"a": 1}', "is not a valid notebook"),
    (b"\xff\xfe", "is not a valid notebook"),
])
def test_bad_input_gets_one_clear_line(tmp_path, capsys, content, says):
    path = tmp_path / ("script.py" if content == b"print('hello')\n" else "01_forward.ipynb")
    if content is not None:
        path.write_bytes(content)
    assert cli.main(["check", str(path)]) == 2
    out = capsys.readouterr()
    assert says in out.out and len(out.out.strip().splitlines()) == 1 and not out.err
