"""Red team (red3): what a hostile student's file names, or a hurried instructor's rerun, do to
intake, the journal and the gradebook. Each test states the behaviour the grader must have."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import pytest

from autograder import cli, course_root
from autograder.demo import demo_class
from autograder.grade.intake import lms

NOTEBOOK = '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
ASSIGNMENT = demo_class.ASSIGNMENT


def _write(path: Path, text: str = NOTEBOOK) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _victim_key(student_id: str) -> str:
    who = lms.Identity(student_id)
    return lms._keys([who])[who]


def test_files_in_a_students_own_folder_stay_theirs(tmp_path):
    _write(tmp_path / "mallory" / "01_forward.ipynb")
    _write(tmp_path / "mallory" / "bob_8_assignsubmission_file_01_forward.ipynb")
    _write(tmp_path / "mallory" / "bob" / ASSIGNMENT / "01_forward.ipynb")
    _write(tmp_path / "bob" / "01_forward.ipynb")
    intake = lms.collect(tmp_path, ASSIGNMENT)
    assert sorted(s.who.student_id for s in intake.submissions) == ["bob", "mallory"]


def test_keys_are_unique_when_an_id_spells_another_students_key(tmp_path):
    key = _victim_key("José")
    _write(tmp_path / "José" / "01_forward.ipynb")
    _write(tmp_path / key / "01_forward.ipynb")
    keys = [s.student for s in lms.collect(tmp_path, ASSIGNMENT).submissions]
    assert len(set(keys)) == len(keys) == 2


def test_an_uploaded_timestamp_does_not_set_the_submission_time(tmp_path):
    folder = tmp_path / "Mallory Smith_77_assignsubmission_file_"
    _write(folder / "01_forward.ipynb")
    _write(folder / "timestamp.txt", "2000-01-01 00:00:00")
    _write(tmp_path / "eve_late_88_999_01_forward.ipynb")
    _write(tmp_path / "eve_late_88_1000_timestamp.txt", "2000-01-01 00:00:00")
    for submission in lms.collect(tmp_path, ASSIGNMENT).submissions:
        assert submission.time_source != lms.TIMESTAMP_FILE, submission.who


def test_a_folder_export_does_not_open_an_oversized_zip(tmp_path, monkeypatch):
    monkeypatch.setattr(lms, "MAX_FILE_BYTES", 1000)
    big = tmp_path / "alice" / "work.zip"
    big.parent.mkdir()
    with zipfile.ZipFile(big, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("01_forward.ipynb", NOTEBOOK)
        archive.writestr("data.bin", os.urandom(5000))
    (alice,) = lms.collect(tmp_path, ASSIGNMENT).submissions
    assert "01_forward.ipynb" not in alice.files


REPO = course_root.REPO_ROOT


@pytest.mark.skipif(shutil.which("bwrap") is None and os.environ.get("CI") != "true",
                    reason="bubblewrap is not installed (CI installs it)")
def test_student_does_not_keep_a_result_for_a_changed_notebook(tmp_path, capsys):
    demo_class.build(tmp_path / "class", REPO / "source" / ASSIGNMENT / demo_class.NOTEBOOK,
                     REPO / "release" / ASSIGNMENT / demo_class.NOTEBOOK, ["solution", "blank"])
    out = tmp_path / "out"
    command = ["grade", ASSIGNMENT, str(tmp_path / "class"), "--out", str(out), "--workers", "1",
               "--no-verify", "--cell-timeout", "20"]
    assert cli.main(command) == 0
    shutil.copy(tmp_path / "class" / "solution" / demo_class.NOTEBOOK,
                tmp_path / "class" / "blank" / demo_class.NOTEBOOK)  # blank resubmits
    capsys.readouterr()
    assert cli.main([*command, "--student", "solution"]) == 0
    after_student = capsys.readouterr().out
    assert cli.main(command) == 0
    fresh = capsys.readouterr().out
    row = next(line for line in fresh.splitlines() if line.startswith("blank "))
    assert row in after_student.splitlines()


def test_a_folder_name_that_is_not_utf8_does_not_crash_intake(tmp_path):
    os.makedirs(os.path.join(os.fsencode(tmp_path), b"caf\xe9"))
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9", b"01_forward.ipynb"), "w") as file:
        file.write(NOTEBOOK)
    assert len(lms.collect(tmp_path, ASSIGNMENT).submissions) == 1


def test_a_file_name_that_is_not_utf8_does_not_crash_the_report(tmp_path):
    from autograder.grade.report import report
    from autograder.grade.run import classroom

    folder = os.path.join(os.fsencode(tmp_path), b"class", b"alice")
    os.makedirs(folder)
    with open(os.path.join(folder, b"\xff.ipynb"), "w") as file:
        file.write(NOTEBOOK)
    (submission,) = lms.collect(tmp_path / "class", ASSIGNMENT).submissions
    flags = [f"ignored {name}" for name in submission.files]
    report.write(tmp_path / "out", ASSIGNMENT, [classroom.Outcome(
        submission.student, "not graded", flags=flags, message=flags[0])], [], 14.0)


@pytest.mark.skipif(shutil.which("bwrap") is None and os.environ.get("CI") != "true",
                    reason="bubblewrap is not installed (CI installs it)")
def test_a_recreated_gradebook_is_recorded_again(tmp_path):
    from nbgrader.api import Gradebook

    root = tmp_path / "course"
    shutil.copytree(REPO / "source", root / "source")
    shutil.copy(REPO / course_root.CONFIG_FILE, root)
    demo_class.build(tmp_path / "class", REPO / "source" / ASSIGNMENT / demo_class.NOTEBOOK,
                     REPO / "release" / ASSIGNMENT / demo_class.NOTEBOOK, ["solution"])
    command = ["--root", str(root), "grade", ASSIGNMENT, str(tmp_path / "class"), "--out",
               str(root / "graded"), "--record", "--workers", "1", "--no-verify",
               "--cell-timeout", "20"]
    url = course_root.api(root).coursedir.db_url

    def recorded() -> list[str]:
        with Gradebook(url, "conv2d-backprop") as gradebook:
            return [s.student.id for s in gradebook.assignment_submissions(ASSIGNMENT)]

    assert cli.main(command) == 0
    assert recorded() == ["solution"]
    (root / "gradebook.db").unlink()  # the instructor starts the gradebook afresh
    assert cli.main(command) == 0
    assert recorded() == ["solution"]
