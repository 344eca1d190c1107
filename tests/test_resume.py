"""A rerun into the same output folder resumes: each graded student is journaled the moment the
result arrives, and only what changed (or failed, or is missing) is graded again."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder import cli, course_root
from autograder.demo import demo_class
from autograder.grade.run import journal, worker

REPO = course_root.REPO_ROOT
SOURCE = REPO / "source" / demo_class.ASSIGNMENT / demo_class.NOTEBOOK
RELEASE = REPO / "release" / demo_class.ASSIGNMENT / demo_class.NOTEBOOK
STUDENTS = ["solution", "buggy", "blank", "broken"]

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None and os.environ.get("CI") != "true",
                                reason="bubblewrap is not installed (CI installs it)")


def _grade(submissions: Path, out: Path, capsys, *extra: str) -> tuple[dict[str, str], str]:
    assert cli.main(["grade", demo_class.ASSIGNMENT, str(submissions), "--out", str(out),
                     "--workers", "2", "--no-verify", "--cell-timeout", "20", *extra]) == 0
    printed = capsys.readouterr().out
    return {name: (out / name).read_text() for name in ("summary.csv", "cells.csv")}, printed


def _entries(out: Path) -> Path:
    return out / journal.FOLDER / demo_class.ASSIGNMENT


def _stamps(out: Path) -> dict[str, int]:
    return {p.stem: p.stat().st_mtime_ns for p in _entries(out).glob("*.json")}


def test_a_rerun_grades_only_what_changed_and_force_regrades_all(tmp_path, capsys):
    demo_class.build(tmp_path / "class", SOURCE, RELEASE, STUDENTS)
    out = tmp_path / "out"
    first, _ = _grade(tmp_path / "class", out, capsys)
    stamps = _stamps(out)
    assert sorted(stamps) == ["blank", "buggy", "solution"]  # broken: intake's row, no task
    feedback = out / "feedback" / "solution" / f"{demo_class.ASSIGNMENT}.html"
    assert feedback.is_file()

    again, printed = _grade(tmp_path / "class", out, capsys)
    assert again == first and _stamps(out) == stamps
    assert "3 of 4 students kept their result" in printed

    notebook = tmp_path / "class" / "buggy" / demo_class.NOTEBOOK  # a changed submission
    nb, times = nbformat.read(notebook, as_version=4), notebook.stat()
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    answer.source += "\n# checked once more before the deadline\n"
    nbformat.write(nb, notebook)
    os.utime(notebook, ns=(times.st_atime_ns, times.st_mtime_ns))  # the same submission time
    (_entries(out) / "blank.json").unlink()  # a result lost
    entry = json.loads((_entries(out) / "solution.json").read_text())
    entry["result"]["grade"]["status"] = "grading failed"  # a failure is tried again
    (_entries(out) / "solution.json").write_text(json.dumps(entry))
    feedback.unlink()
    resumed, printed = _grade(tmp_path / "class", out, capsys)
    assert resumed == first and "kept" not in printed
    assert all(_stamps(out)[s] != stamps[s] for s in stamps) and feedback.is_file()

    (_entries(out) / "buggy.json").write_text('{"fingerprint": "trunc')  # torn file
    stamps = _stamps(out)
    resumed, printed = _grade(tmp_path / "class", out, capsys)
    assert resumed == first and "2 of 4 students kept" in printed
    assert [s for s in stamps if _stamps(out)[s] != stamps[s]] == ["buggy"]

    stamps = _stamps(out)
    forced, printed = _grade(tmp_path / "class", out, capsys, "--force")
    assert forced == first and "kept" not in printed
    assert all(_stamps(out)[s] != stamps[s] for s in stamps)


def test_what_a_run_depends_on_changes_its_fingerprint(tmp_path):
    """Whatever decides a grade, apart from the notebooks, is in the run's fingerprint: the
    assignment's source (hidden tests), the course's nbgrader configuration, the options."""
    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(REPO / course_root.CONFIG_FILE, root)
    material = worker.Material(demo_class.ASSIGNMENT, {"01_forward.ipynb": b"{}"}, b"")
    options = {"verify": True, "cell_timeout": 60}
    base = journal.run_fingerprint(material, options, root)
    assert journal.run_fingerprint(material, options, root) == base
    hidden_test_changed = worker.Material(demo_class.ASSIGNMENT, {"01_forward.ipynb": b"{ }"}, b"")
    assert journal.run_fingerprint(hidden_test_changed, options, root) != base
    assert journal.run_fingerprint(material, {**options, "verify": False}, root) != base
    with (root / course_root.CONFIG_FILE).open("a") as config:
        config.write("\nc.Execute.timeout = 5\n")
    assert journal.run_fingerprint(material, options, root) != base
    one, other = {"01_forward.ipynb": "a"}, {"01_forward.ipynb": "b"}
    assert journal.fingerprint(base, one) != journal.fingerprint(base, other)


def test_an_output_folder_that_cannot_be_written_is_one_line(tmp_path, capsys):
    demo_class.build(tmp_path / "class", SOURCE, RELEASE, ["solution"])
    (tmp_path / "out").write_text("a file where the output folder should be")
    assert cli.main(["grade", demo_class.ASSIGNMENT, str(tmp_path / "class"), "--out",
                     str(tmp_path / "out"), "--workers", "1", "--no-verify"]) == 2
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and printed[0].startswith(
        f"autograder: cannot write the results in {tmp_path / 'out'}: ")
