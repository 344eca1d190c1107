"""A real class at the door: every LMS export read student by student, every grade out.

Exports are built here in the shapes the LMSs produce (docs/lms.md). Intake is checked on each
form (every student a row, ids verbatim, never merged, lateness right); one mixed class is graded
for real (sandboxed, re-checked, recorded) and its exports are read back by parsers written from
the documented formats; every bad input gets one line and exit status 2.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import nbformat
import pytest
from traitlets.config import Config

from autograder import cli, course_root
from autograder.author import submissions
from autograder.demo import demo_class
from autograder.grade.execute import grading
from autograder.grade.intake import lateness, lms
from autograder.grade.report import exports, report
from autograder.grade.run import classroom
from tests.conftest import copy_course

REPO = course_root.REPO_ROOT
ASSIGNMENT, NOTEBOOK = demo_class.ASSIGNMENT, demo_class.NOTEBOOK
RELEASE_NB = nbformat.read(REPO / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
SOURCE_NB = nbformat.read(REPO / "source" / ASSIGNMENT / NOTEBOOK, as_version=4)
SOLUTION = grading.notebook_text(
    submissions.fill(RELEASE_NB, submissions.solution_cells(SOURCE_NB))).encode()
BLANK = grading.notebook_text(RELEASE_NB).encode()
OTHER = (REPO / "release" / "03_backward" / "03_backward.ipynb").read_bytes()
DUE = datetime.datetime(2026, 12, 1, 12, 0)
LONG_ID = "a-student-whose-login-is-much-longer-than-sixty-four-characters-for-sure-2026"
CANVAS_FILES = {
    "smithjohn_111_901_01_forward.ipynb": SOLUTION,
    "smithjohn_LATE_333_902_01_forward-1.ipynb": BLANK,  # same stem, late, resubmitted
    "garcíaana_late_444_903_01_forward.ipynb": SOLUTION,
}
CANVAS_ROWS = [("garcíaana", "444", "canvas", True, True),
               ("smithjohn", "111", "canvas", False, True),
               ("smithjohn", "333", "canvas", True, True)]
# Each form: how to write it, and the rows intake must find:
# (student_id, lms_user_id, source, late (marker or after DUE), notebook found).
FORMS = {
    "canvas-zip": ("zip", CANVAS_FILES, CANVAS_ROWS),
    "canvas-unzipped": ("folder", {f"export/{k}": v for k, v in CANVAS_FILES.items()}, CANVAS_ROWS),
    "moodle-zip": ("zip", {
        "Jane Doe_1234_assignsubmission_file_/01_forward.ipynb": SOLUTION,
        "José Núñez_1235_assignsubmission_file_/01_forward.ipynb": BLANK,
        "José Núñez_1235_assignsubmission_file_/notes.txt": b"hello"}, [
        ("Jane Doe", "1234", "moodle", False, True),
        ("José Núñez", "1235", "moodle", False, True)]),
    "blackboard-zip": ("zip", {
        "HW1_jdoe_attempt_2026-12-01-11-00-00_01_forward.ipynb": SOLUTION,
        "HW1_jdoe_attempt_2026-12-01-11-00-00.txt": b"Name: John Doe (jdoe)\nAssignment: HW1\n",
        "HW1_mroe_attempt_2026-12-02-09-30-00_01_forward.ipynb": BLANK}, [
        ("jdoe", "", "blackboard", False, True),
        ("mroe", "", "blackboard", True, True)]),
    "nbgrader-submitted": ("folder", {
        "submitted/alice/01_forward/01_forward.ipynb": SOLUTION,
        "submitted/alice/01_forward/timestamp.txt": b"2026-12-01 10:00:00.000000 UTC",
        "submitted/Jane Doe/01_forward/01_forward.ipynb": SOLUTION,
        "submitted/Jane Doe/01_forward/timestamp.txt": b"2026-12-01 13:00:00.000000 UTC",
        "submitted/bob@uni.edu/01_forward/01_forward.ipynb": BLANK,
        "submitted/bob@uni.edu/01_forward/timestamp.txt": b"2026-12-01 11:59:59.000000 UTC",
        f"submitted/{LONG_ID}/01_forward/01_forward.ipynb": BLANK,
        f"submitted/{LONG_ID}/01_forward/timestamp.txt": b"2026-12-01 09:00:00.000000 UTC"}, [
        ("Jane Doe", "", "nbgrader", True, True),
        (LONG_ID, "", "nbgrader", False, True),
        ("alice", "", "nbgrader", False, True),
        ("bob@uni.edu", "", "nbgrader", False, True)]),
    "github-classroom": ("folder", {
        "01-forward-octocat/.git/HEAD": b"ref: refs/heads/main\n",
        "01-forward-octocat/01_forward.ipynb": SOLUTION,
        "01-forward-hubot/work/01_forward.ipynb": BLANK}, [
        ("hubot", "", "github", False, True),
        ("octocat", "", "github", False, True)]),
    "custom-pattern": ("zip", {
        "hw/ps1-lovelace-2026-12-01-11-00-00-01_forward.ipynb": SOLUTION,
        "hw/ps1-babbage-2026-12-03-08-00-00-01_forward.ipynb": BLANK}, [
        ("babbage", "", "pattern", True, True),
        ("lovelace", "", "pattern", False, True)]),
    "nested-zip-in-folder": ("folder-with-zip", CANVAS_FILES, CANVAS_ROWS),
    "student-folders": ("folder", {
        "Ana García/01_forward.ipynb": SOLUTION,
        "=HYPERLINK(1)/01_forward.ipynb": BLANK,
        "empty-handed/readme.md": b"no notebook here"}, [
        ("=HYPERLINK(1)", "", "folder", False, True),
        ("Ana García", "", "folder", False, True),
        ("empty-handed", "", "folder", False, False)]),
}
PATTERN = r".*ps1-(?P<student_id>[^-/]+)-(?P<timestamp>\d{4}(?:-\d\d){5})-(?P<file_id>.+)"


def write_export(tmp: Path, kind: str, files: dict[str, bytes]) -> Path:
    """The export as the LMS hands it over: a zip, a folder, or a folder holding the zip;
    every file dated an hour before the due date (the time intake falls back on)."""
    on_time = DUE - datetime.timedelta(hours=1)
    tmp.mkdir(parents=True, exist_ok=True)
    if kind == "folder":
        for name, data in files.items():
            (tmp / "export" / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / "export" / name).write_bytes(data)
            stamp = on_time.replace(tzinfo=datetime.UTC).timestamp()
            os.utime(tmp / "export" / name, (stamp, stamp))
        return tmp / "export"
    archive = tmp / ("export.zip" if kind == "zip" else "export/downloads/submissions.zip")
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in files.items():
            zf.writestr(zipfile.ZipInfo(name, on_time.timetuple()[:6]), data)
    return archive if kind == "zip" else tmp / "export"


@pytest.mark.parametrize("form", FORMS)
def test_each_export_form_is_read_student_by_student(tmp_path, form):
    kind, files, expected = FORMS[form]
    found = lms.collect(write_export(tmp_path, kind, files), ASSIGNMENT,
                        PATTERN if form == "custom-pattern" else "")
    policy = lateness.Policy(DUE, Config())
    rows = sorted((s.who.student_id, s.who.lms_user_id, s.who.source,
                   s.late_marker or policy.seconds_late(s.submitted_at) > 0,
                   NOTEBOOK in s.files) for s in found.submissions)
    assert rows == sorted(expected)
    keys = [s.student for s in found.submissions]
    assert len(set(keys)) == len(keys) and all(lms.SAFE_KEY.match(k) for k in keys)
    assert not found.ignored
    assert all(TIMESTAMP not in " ".join(s.flags) for s in found.submissions)


TIMESTAMP = lms.TIMESTAMP_FILE


def test_nbgrader_times_and_blackboard_receipts_are_read_not_flagged(tmp_path):
    kind, files, _ = FORMS["nbgrader-submitted"]
    alice = lms.select(lms.collect(write_export(tmp_path, kind, files), ASSIGNMENT), "alice")[0]
    assert (alice.submitted_at, alice.time_source, alice.flags) == (
        datetime.datetime(2026, 12, 1, 10, 0), "timestamp.txt", [])
    kind, files, _ = FORMS["blackboard-zip"]
    jdoe = lms.select(lms.collect(write_export(tmp_path / "bb", kind, files), ASSIGNMENT),
                      "jdoe")[0]
    assert (jdoe.who.name, jdoe.flags) == ("John Doe", [])


def test_the_dry_run_lists_every_student_verbatim(tmp_path, capsys):
    kind, files, expected = FORMS["canvas-zip"]
    export = write_export(tmp_path, kind, files)
    assert cli.main(["grade", ASSIGNMENT, str(export), "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(" [")[0] for line in out[:-1]] == sorted(e[0] for e in expected)
    assert "user id 333" in "\n".join(out) and out[-1].startswith("dry run: 3 students")


def test_a_spreadsheet_formula_is_neutralised(tmp_path):
    path = tmp_path / "x.csv"
    exports.write_csv(path, ["id", "message"], [["=cmd|' /C calc'!A0", "+1"], ["@SUM(A1)", "-x"],
                                                ["\tTAB", "plain"], ["ok", "3"]])
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with path.open(newline="", encoding="utf-8-sig") as file:
        cells = [c for row in csv.reader(file) for c in row]
    assert not [c for c in cells if c.startswith(exports.FORMULA_STARTS)]
    assert "'=cmd|' /C calc'!A0" in cells and "plain" in cells


def test_messages_are_cut_between_words():
    text = "word " * 100
    assert exports.shorten(text, 50) == "word " * 9 + "…"


def test_a_dollar_in_a_message_does_not_break_the_report():
    cell = grading.CellScore("test_forward_basic", 0.0, 2.0,
                             "AssertionError: $x_{i$ is wrong. Likely cause: the $\\frac{ kernel")
    outcome = classroom.Outcome("s1", "graded", {"test_forward_basic": cell},
                                identity=lms.Identity("<b>$1"))
    page = report.report_html(ASSIGNMENT, [outcome], [], 2.0)
    assert "the $\\frac{ kernel" in page and "&lt;b&gt;$1" in page
    assert "could not be drawn" not in page and page.count("data:image/png") == 3


# Canvas's gradebook import: these columns, then one per assignment, "Name (id)".
CANVAS_IMPORT = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_WORKSHEET = ["Identifier", "Full name", "Email address", "Grade", "Maximum Grade",
                    "Feedback comments"]
# Gradescope's results.json (autograder specifications): top level and per test.
GRADESCOPE_TOP = {"score": (int, float), "execution_time": (int, float), "output": str,
                  "visibility": str, "stdout_visibility": str, "tests": list}
GRADESCOPE_TEST = {"score": (int, float), "max_score": (int, float), "name": str,
                   "number": str, "output": str, "tags": list, "visibility": str}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def read_csv(path: Path) -> list[list[str]]:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf"), f"{path.name}: no BOM"
    with path.open(newline="", encoding="utf-8-sig") as file:
        return list(csv.reader(file))


def canvas_import(path: Path) -> tuple[str, dict[str, str]]:
    """Read a gradebook CSV as Canvas's import does: the assignment column, grades by user id."""
    header, *rows = read_csv(path)
    assert header[:5] == CANVAS_IMPORT and len(header) == 6, header
    assert re.fullmatch(r".+ \(\d+\)", header[5]), header[5]
    rows = [r for r in rows if r[0].strip() != "Points Possible"]
    by_id = {r[1]: r[5] for r in rows if r[1]}
    assert len(by_id) == len([r for r in rows if r[1]]), "a Canvas user id appears twice"
    return header[5], by_id


def valid_results_json(data: dict) -> None:
    assert set(data) <= set(GRADESCOPE_TOP) and "tests" in data
    for key, kind in GRADESCOPE_TOP.items():
        assert isinstance(data.get(key, 0.0 if kind is not str else ""), kind), key
    assert data["visibility"] in VISIBILITY and data["stdout_visibility"] in VISIBILITY
    for test in data["tests"]:
        assert set(test) <= set(GRADESCOPE_TEST)
        for key, kind in GRADESCOPE_TEST.items():
            assert isinstance(test[key], kind), (key, test)
        assert 0 <= test["score"] <= test["max_score"] and test["visibility"] in VISIBILITY
    assert data["score"] <= sum(t["max_score"] for t in data["tests"]) or not data["tests"]


CLASS = {  # one mixed class: Canvas, Moodle and nbgrader entries side by side
    **CANVAS_FILES,
    "=1+1_555_904_01_forward.ipynb": SOLUTION,  # a login a spreadsheet would run
    "Jane Doe_1234_assignsubmission_file_/01_forward.ipynb": SOLUTION,
    "Jane Doe_1234_assignsubmission_file_/notes.pdf": b"%PDF",  # needs review
    "submitted/alice/01_forward/03_backward.ipynb": OTHER,  # another assignment's notebook
    "submitted/alice/01_forward/timestamp.txt": b"2026-12-01 10:00:00.000000 UTC",
    "HW1_mroe_attempt_2026-12-02-09-30-00_01_forward.ipynb": SOLUTION,  # late: penalised
    "readme.txt": b"not a student",
}


def course_with_due_date(tmp: Path) -> Path:
    """A copy of the course, due at DUE, late work scored zero, a Canvas assignment id."""
    root = copy_course(tmp / "course")
    with (root / course_root.CONFIG_FILE).open("a") as config:
        config.write('\nc.Lateness.duedates = {"01_forward": "2026-12-01 12:00:00 UTC"}\n'
                     'c.LateSubmissionPlugin.penalty_method = "zero"\n'
                     'c.GradeExport.canvas_assignment_ids = {"01_forward": "4242"}\n')
    return root


def test_every_form_in_one_export_is_graded_row_by_row(tmp_path):
    """Each form side by side in one folder, graded (unsandboxed, no re-check: intake is what
    is tested here). Student folders are the export's top level (their rule: the first folder);
    the LMS forms sit in folders of their own, found at any depth. The Canvas form is there
    once: a real export holds each student once."""
    root = course_with_due_date(tmp_path)
    export, expected = tmp_path / "class", set(CANVAS_ROWS)
    export.mkdir()
    for form, (kind, files, rows) in FORMS.items():
        expected |= set(rows)
        if form in ("student-folders", "github-classroom"):
            shutil.copytree(write_export(tmp_path / form, kind, files), export,
                            dirs_exist_ok=True)
        elif "canvas" not in form or form == "nested-zip-in-folder":
            written = write_export(tmp_path / form, kind, files)
            shutil.move(written, export / (form + written.suffix))
    assert cli.main(["--root", str(root), "grade", ASSIGNMENT, str(export), "--pattern",
                     PATTERN, "--out", str(tmp_path / "out"), "--unsandboxed", "--no-verify",
                     "--workers", "2", "--cell-timeout", "20"]) == 0
    found = {(_unneutralised(r["student_id"]), r["lms_user_id"], r["source"], r["late"] == "late",
              r["status"] != "not graded") for r in summary(tmp_path / "out")}
    assert found == expected


def _unneutralised(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(exports.FORMULA_STARTS) \
        else cell


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory) -> tuple[Path, Path, Path]:
    """The mixed class graded for real (sandboxed, re-checked, recorded) in a course copy."""
    if shutil.which("bwrap") is None and os.environ.get("CI") != "true":
        pytest.skip("bubblewrap is not installed")
    tmp = tmp_path_factory.mktemp("lms-class")
    root = course_with_due_date(tmp)
    export = write_export(tmp, "zip", CLASS)
    out = tmp / "graded"
    assert cli.main(["--root", str(root), "grade", ASSIGNMENT, str(export), "--out", str(out),
                     "--workers", "2", "--cell-timeout", "20", "--record"]) == 0
    return root, export, out


def summary(out: Path) -> list[dict]:
    header, *rows = read_csv(out / "summary.csv")
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_every_entry_of_a_real_class_is_a_row(graded_class, capsys):
    _, _, out = graded_class
    rows = {(r["student_id"], r["lms_user_id"]): r for r in summary(out)}
    assert len(rows) == len(summary(out)) == 8
    assert rows[("smithjohn", "111")]["final_score"] == "14"
    mroe = rows[("mroe", "")]
    assert (mroe["late"], mroe["score"], mroe["late_penalty"], mroe["final_score"]) == (
        "late", "14", "14", "0")
    assert rows[("smithjohn", "333")]["score"] == "0"  # the blank: never merged with 111
    assert rows[("garcíaana", "444")]["late"] == "late"
    assert rows[("'=1+1", "555")]["status"] == "graded"  # neutralised, not run
    assert rows[("Jane Doe", "1234")]["status"] == "needs review"
    alice = rows[("alice", "")]
    assert alice["status"] == "not graded" and "another assignment" in alice["message"]
    assert alice["flags"] == "" and alice["submitted_at"] == "2026-12-01 10:00:00 UTC"
    assert rows[("", "")]["status"] == "ignored" and "readme.txt" in rows[("", "")]["message"]


def test_the_canvas_csv_imports_every_canvas_student_by_user_id(graded_class):
    _, _, out = graded_class
    column, grades = canvas_import(out / "grades-canvas.csv")
    assert column == "01_forward (4242)"
    canvas = {r["lms_user_id"]: r["final_score"] for r in summary(out)
              if r["source"] == "canvas"}
    assert grades == canvas and set(canvas) == {"111", "333", "444", "555"}


def test_the_moodle_csv_and_results_json_follow_their_formats(graded_class):
    _, _, out = graded_class
    header, *rows = read_csv(out / "grades-moodle.csv")
    assert header == MOODLE_WORKSHEET
    assert ["Participant 1234", "Jane Doe", "", "14", "14", "14 / 14"] in rows
    for row in rows:
        assert row[3] == "" or 0 <= float(row[3]) <= float(row[4])
    files = sorted((out / "results").glob("*.json"))
    assert len(files) == 7
    for path in files:
        valid_results_json(json.loads(path.read_text()))
    wide_header, *wide = read_csv(out / "grades-wide.csv")
    order = [c.metadata.nbgrader["grade_id"] for c in RELEASE_NB.cells
             if c.metadata.get("nbgrader", {}).get("grade")]
    assert wide_header[8:] == order and len(wide) == 7


def test_the_report_and_the_gradebook_know_every_student(graded_class):
    from nbgrader.api import Gradebook

    root, _, out = graded_class
    page = (out / "report.html").read_text()
    assert "median" in page and "garcíaana" in page and 'href="feedback/' in page
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "conv2d-backprop") as gradebook:
        students = {s.id: s for s in gradebook.students}
        assert len(students) == 7  # not graded alice included, for nbgrader export
        assert {s.lms_user_id for s in students.values()} >= {"111", "333", "444", "1234"}
        recorded = {s.student.last_name: s for s in gradebook.assignment_submissions(ASSIGNMENT)}
        assert [n.flagged for n in recorded["Jane Doe"].notebooks] == [True]
        assert [n.flagged for n in recorded["garcíaana"].notebooks] == [False]
        assert recorded["garcíaana"].timestamp == DUE - datetime.timedelta(hours=1)
        assert recorded["mroe"].timestamp == datetime.datetime(2026, 12, 2, 9, 30)
        assert recorded["mroe"].late_submission_penalty == 14  # nbgrader's own, from the time


def test_one_student_is_regraded_into_the_run(graded_class, capsys):
    root, export, out = graded_class
    before = {(r["student_id"], r["lms_user_id"]): r for r in summary(out)}
    assert cli.main(["--root", str(root), "grade", ASSIGNMENT, str(export), "--out", str(out),
                     "--student", "333", "--cell-timeout", "20", "--workers", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == \
        "5 graded, 1 need review, 1 not graded, 1 ignored"
    after = {(r["student_id"], r["lms_user_id"]): r for r in summary(out)}
    assert after == before


def _tar(tmp: Path) -> Path:
    path = tmp / "export.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        data = io.BytesIO(SOLUTION)
        info = tarfile.TarInfo("alice/01_forward.ipynb")
        info.size = len(SOLUTION)
        tar.addfile(info, data)
    return path


def _broken_zip(tmp: Path) -> Path:
    write_export(tmp, "zip", CANVAS_FILES)
    (tmp / "broken.zip").write_bytes((tmp / "export.zip").read_bytes()[:300])
    return tmp / "broken.zip"


def _empty_zip(tmp: Path) -> Path:
    zipfile.ZipFile(tmp / "empty.zip", "w").close()
    return tmp / "empty.zip"


def _broken_config(tmp: Path) -> Path:
    (tmp / course_root.CONFIG_FILE).write_text("c.Lateness.duedates = {\n")
    return tmp


def _bad_due_date(tmp: Path) -> Path:
    root = copy_course(tmp / "course")
    with (root / course_root.CONFIG_FILE).open("a") as config:
        config.write('\nc.Lateness.duedates = {"01_forward": "next friday-ish"}\n')
    return root


def _canvas(tmp: Path) -> Path:
    return write_export(tmp, "zip", CANVAS_FILES)


def _empty_folder(tmp: Path) -> Path:
    (tmp / "nothing").mkdir()
    return tmp / "nothing"


# Every bad input: the arguments (built in a fresh folder), the exit status, what the line says.
BAD_INPUT = {
    "not a course": (lambda t: ["--root", str(t), "grade", ASSIGNMENT, str(_canvas(t))], 2,
                     "not a course folder"),
    "a broken nbgrader_config.py": (lambda t: ["--root", str(_broken_config(t)), "grade",
                                               ASSIGNMENT, str(_canvas(t))], 2,
                                    "cannot be read: SyntaxError"),
    "a due date that is not a time": (lambda t: ["--root", str(_bad_due_date(t)), "grade",
                                                 ASSIGNMENT, str(_canvas(t))], 2,
                                      "is not a time"),
    "mistyped assignment": (lambda t: ["grade", "01_froward", str(_canvas(t))], 2,
                            "did you mean 01_forward"),
    "missing path": (lambda t: ["grade", ASSIGNMENT, str(t / "nowhere.zip")], 2,
                     "no such file"),
    "a .tar.gz": (lambda t: ["grade", ASSIGNMENT, str(_tar(t))], 2, ".tar.gz archive"),
    "a single notebook": (lambda t: ["grade", ASSIGNMENT, str(REPO / "release" / ASSIGNMENT /
                                                              NOTEBOOK)], 2, "single notebook"),
    "a broken zip": (lambda t: ["grade", ASSIGNMENT, str(_broken_zip(t))], 2, "zip"),
    "an empty zip": (lambda t: ["grade", ASSIGNMENT, str(_empty_zip(t))], 2,
                     "holds no submissions"),
    "an empty folder": (lambda t: ["grade", ASSIGNMENT, str(_empty_folder(t))], 2,
                        "holds no submissions"),
    "a bad pattern": (lambda t: ["grade", ASSIGNMENT, str(_canvas(t)), "--pattern", "(x"], 2,
                      "not a regular expression"),
    "a pattern without student_id": (lambda t: ["grade", ASSIGNMENT, str(_canvas(t)),
                                                "--pattern", "(?P<name>.*)"], 2, "student_id"),
    "an unknown student": (lambda t: ["grade", ASSIGNMENT, str(_canvas(t)), "--student",
                                      "nobody"], 2, "no student 'nobody'"),
    "an ambiguous student": (lambda t: ["grade", ASSIGNMENT, str(_canvas(t)), "--student",
                                        "smithjohn"], 2, "2 students match"),
    "no earlier run": (lambda t: ["grade", ASSIGNMENT, str(_canvas(t)), "--student", "111",
                                  "--out", str(t / "out")], 2, "no earlier run"),
    "an unknown option": (lambda t: ["grade", ASSIGNMENT, str(_canvas(t)), "--wrokers", "2"],
                          2, "unrecognized arguments"),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_gets_one_line_and_exit_status_2(tmp_path, capsys, case):
    build, status, says = BAD_INPUT[case]
    argv = [*build(tmp_path), "--unsandboxed"]  # the same line where bubblewrap is missing
    try:
        code = cli.main(argv)
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).splitlines()
    assert (code, len(lines)) == (status, 1), lines
    assert says in lines[0] and "Traceback" not in lines[0]


def test_the_entry_point_names_itself_and_shows_defaults():
    script = Path(sys.executable).parent / "conv-course"
    shown = subprocess.run([str(script), "grade", "--help"], capture_output=True, text=True,
                           check=True).stdout
    assert shown.startswith("usage: conv-course grade")
    assert "(default: 60)" in " ".join(shown.split())


def test_an_escape_sequence_in_an_id_is_shown_not_obeyed(tmp_path, capsys):
    export = write_export(tmp_path, "zip", {"\x1b[2Jwiper_777_1_01_forward.ipynb": SOLUTION})
    assert cli.main(["grade", ASSIGNMENT, str(export), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "?[2Jwiper [canvas, user id 777]" in out


@pytest.mark.skipif(shutil.which("bwrap") is None and os.environ.get("CI") != "true",
                    reason="bubblewrap is not installed")
def test_grade_prints_no_library_warning(tmp_path):
    """As an instructor runs it (a new process, no pytest filters): results and the tally."""
    export = write_export(tmp_path, "zip", {"lovelace_1_2_01_forward.ipynb": SOLUTION})
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, str(export),
                          "--out", str(tmp_path / "out"), "--workers", "1", "--no-verify",
                          "--cell-timeout", "20"], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Warning" not in run.stdout + run.stderr, run.stderr
    assert run.stderr == "" and run.stdout.splitlines()[-1] == \
        "1 graded, 0 need review, 0 not graded, 0 ignored"
