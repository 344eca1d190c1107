"""The coordinator at MOOC scale: a synthetic class of 1,000 and 10,000 submissions of notebook 01.

The grading task is replaced by a replay of results recorded once for real (a solution, a typical
bug and a blank, graded in the sandbox), so each run measures what the coordinator itself does:
stream the zip (intake), fingerprint and journal each result, write feedback pages, the CSVs, the
LMS exports and the report; a rerun that resumes (everyone kept); and recording the class into a
gradebook (SQLite, and a real PostgreSQL server on loopback when one can be started). Each class
size runs in a fresh process, so its peak memory (``ru_maxrss``) is its own.

Reproduce with ``.venv/bin/python benchmarks/scale.py``; it rewrites ``benchmarks/SCALE.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests.postgres: the loopback server the tests use

from autograder import course_root  # noqa: E402
from autograder.demo import demo  # noqa: E402
from autograder.grade.record import record  # noqa: E402
from autograder.grade.report import report  # noqa: E402
from autograder.grade.run import classroom, journal, pool  # noqa: E402
from tests import postgres  # noqa: E402

ASSIGNMENT = "01_forward"
KINDS = ("solution", "buggy", "blank")
SIZES = (1000, 10000)


def recorded_results(tmp: Path) -> Path:
    """Grade one student of each kind for real; keep their journal entries as the replay."""
    root = course_root.REPO_ROOT
    source, released = (course_root.notebooks(root, ASSIGNMENT, stage)[0]
                        for stage in ("source", "release"))
    for kind in KINDS:
        (tmp / "real" / kind).mkdir(parents=True)
        (tmp / "real" / kind / released.name).write_text(
            demo.student_files(kind, source, released, ASSIGNMENT))
    classroom.grade_class(ASSIGNMENT, tmp / "real", tmp / "real-out",
                          classroom.Options(workers=2))
    return tmp / "real-out" / journal.FOLDER / ASSIGNMENT


def synthetic_class(tmp: Path, students: int) -> Path:
    """A zip of ``students`` folders, each a different notebook (a comment numbers it)."""
    root = course_root.REPO_ROOT
    source, released = (course_root.notebooks(root, ASSIGNMENT, stage)[0]
                        for stage in ("source", "release"))
    texts = {k: json.loads(demo.student_files(k, source, released, ASSIGNMENT)) for k in KINDS}
    path = tmp / f"class-{students}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for number in range(students):
            kind = KINDS[number % len(KINDS)]
            nb = texts[kind]
            answer = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get(
                "solution"))
            keep = answer["source"]
            answer["source"] = f"{''.join(keep)}\n# student {number}\n"
            archive.writestr(f"{kind}-{number:05d}/{released.name}", json.dumps(nb))
            answer["source"] = keep
    return path


def replay_stream(replays: dict[str, object]):
    """``pool.stream`` with the grading replaced by the recorded result of the student's kind."""
    import dataclasses

    def stream(function, tasks, workers, on_error, in_flight=None):
        for task in tasks:
            result = replays[task.student.split("-")[0]]
            grade = dataclasses.replace(result.grade, student=task.student)
            yield task, dataclasses.replace(result, grade=grade)
    return stream


def child(zip_path: Path, replay: Path, out: Path, db_urls: list[str]) -> dict:
    """One class size, in this process: grade (replayed), resume, record; times and memory."""
    book = journal.Journal(replay.parent.parent, ASSIGNMENT)
    replays = {p.stem: book.read(p.stem) for p in replay.glob("*.json")}
    pool.stream = replay_stream({k: e.result for k, e in replays.items()})
    options = classroom.Options(workers=1)
    figures: dict[str, float] = {}
    for run in ("first", "resumed"):
        start = time.perf_counter()
        intake = classroom.read_class(ASSIGNMENT, zip_path)
        outcomes, notes, max_score = classroom.grade_intake(ASSIGNMENT, intake, out, options)
        report.write(out, ASSIGNMENT, outcomes, notes, max_score)
        figures[run] = time.perf_counter() - start
    figures["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    book = journal.Journal(out, ASSIGNMENT)
    fingerprints = {e.stem: book.read(e.stem).fingerprint for e in book.folder.glob("*.json")}
    with tempfile.TemporaryDirectory() as course:
        root = Path(course)
        shutil.copytree(course_root.REPO_ROOT / "source" / ASSIGNMENT,
                        root / "source" / ASSIGNMENT)
        shutil.copy(course_root.REPO_ROOT / course_root.CONFIG_FILE, root)
        for name, url in [("sqlite", None), *(("postgresql", u) for u in db_urls)]:
            start = time.perf_counter()
            count = record.record_class(root, ASSIGNMENT, outcomes, fingerprints, book, url)
            figures[f"record_{name}"] = time.perf_counter() - start
            assert count == len(intake.submissions), (count, len(intake.submissions))
            for marker in book.folder.glob("recorded-*"):
                marker.unlink()
    figures["students"] = len(intake.submissions)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=3, metavar=("ZIP", "REPLAY", "OUT"))
    parser.add_argument("--db-url", action="append", default=[])
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*map(Path, args.child), args.db_url)))
        return
    with tempfile.TemporaryDirectory(prefix="scale-") as tmp_name, contextlib.ExitStack() as stack:
        tmp = Path(tmp_name)
        try:
            urls = [stack.enter_context(postgres.server())]
        except postgres.Unavailable as why:
            print(f"no PostgreSQL figures: {why}")
            urls = []
        replay = recorded_results(tmp)
        rows = []
        for size in args.sizes:
            zip_path = synthetic_class(tmp, size)
            command = [sys.executable, __file__, "--child", str(zip_path), str(replay),
                       str(tmp / f"out-{size}"), *(f"--db-url={u}" for u in urls)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            shutil.rmtree(tmp / f"out-{size}")
            print(rows[-1], flush=True)
    write_results(rows)


def write_results(rows: list[dict]) -> None:
    per = [lambda r, k=k: 1000 * r[k] / r["students"] for k in ("first", "resumed")]
    lines = ["# The coordinator at scale (issue 15)", "",
             f"Measured {time.strftime('%Y-%m-%d')} on this project's machine "
             f"({os.cpu_count()} cores, {platform.machine()}, Python "
             f"{platform.python_version()}), in one run; wall-clock seconds of the coordinator "
             "process, including its fixed costs (generating the assignment once, about 1.5 s).",
             "Reproduce with `.venv/bin/python benchmarks/scale.py` (rewrites this file).", "",
             "A synthetic class of notebook 01 (a third each solutions, a typical bug, blanks; "
             "every notebook different), read from one zip; the grading task replaced by a "
             "replay of results recorded once for real, so the figures are the coordinator's "
             "own: intake, fingerprints, journal, feedback pages, CSVs, LMS exports, report.", "",
             "| students | ms per student, first run | ms per student, resumed run | "
             "peak memory (MB) | recording, SQLite (ms per student) | "
             "recording, PostgreSQL on loopback (ms per student) |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        pg = f"{1000 * r['record_postgresql'] / r['students']:.1f}" \
            if "record_postgresql" in r else "not measured"
        lines.append(f"| {r['students']:,} | {per[0](r):.1f} | {per[1](r):.1f} | "
                     f"{r['rss_mb']:.0f} | {1000 * r['record_sqlite'] / r['students']:.1f} | "
                     f"{pg} |")
    if len(rows) >= 2:
        lines += ["", f"Peak memory, {rows[-1]['students']:,} vs {rows[0]['students']:,} "
                  f"students: {rows[-1]['rss_mb'] / rows[0]['rss_mb']:.2f}x."]
    lines += ["", "Goals (issue 15): at most 20 ms of coordinator time per student, peak memory "
              "within 1.5x from 1,000 to 10,000 students, at most 10 ms per student to record "
              "into PostgreSQL."]
    (HERE / "SCALE.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
