"""Command line: ``python -m autograder <verb>`` (also installed as ``conv-course``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from autograder import course_root


def _release(args: argparse.Namespace) -> int:
    from autograder import release

    for name in release.generate(args.root, args.assignments or None):
        print(f"release/{name} regenerated from source/{name}")
    return 0


def _normalise(args: argparse.Namespace) -> int:
    from autograder import notebook_format

    changed = [p for p in sorted((args.root / "source").rglob("*.ipynb"))
               if ".ipynb_checkpoints" not in p.parts and notebook_format.normalise_file(p)]
    for path in changed:
        print(f"normalised {path.relative_to(args.root)}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from autograder import demo

    demo.run(args.root)
    return 0


def _solutions(args: argparse.Namespace) -> int:
    from autograder import site

    out = args.out if args.out is not None else args.root / site.DEFAULT_OUT
    try:
        pages = site.build(args.root, out)
    except site.NotebookFailed as error:
        print(error, file=sys.stderr)
        return 1
    print(f"{len(pages)} notebooks with their solutions: open {out / site.INDEX}")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from autograder import classroom, report, sandbox

    scheduler = args.scheduler or course_root.load_config(args.root).GradingCluster.get(
        "scheduler")
    if not args.unsandboxed and not scheduler:  # on a cluster, each worker checks for itself
        try:
            sandbox.bwrap_path()
        except sandbox.SandboxUnavailable as error:
            print(f"autograder: {error}")
            return 2
    problem = settings_problem(scheduler, args.db_url if args.record else None)
    if problem:
        print(f"autograder: {problem}")
        return 2
    options = classroom.Options(
        workers=args.workers, sandboxed=not args.unsandboxed, verify=not args.no_verify,
        scheduler=scheduler, record=args.record, db_url=args.db_url,
        limits=sandbox.Limits(memory_bytes=args.memory_mb * 1024**2),
        cell_timeout=args.cell_timeout, submission_timeout=args.submission_timeout)
    outcomes, notes, max_score = classroom.grade_class(args.assignment, args.submissions,
                                                       options, args.root)
    out = args.out or args.root / "graded" / args.assignment
    report.write(out, args.assignment, outcomes, notes, max_score)
    for note in notes:
        print(f"note: {note}")
    for o in outcomes:
        print(f"{o.student:<20} {o.score:>6g} / {max_score:g}  {o.status}"
              + (f": {o.message}" if o.message else ""))
    print(f"\nWritten to {out}: summary.csv, cells.csv, feedback/, report.html")
    return 0


def settings_problem(scheduler: str | None, db_url: str | None) -> str:
    """One line on why grading cannot start with these settings (empty if it can)."""
    if scheduler:
        from distributed import Client

        try:
            Client(scheduler, timeout="10s").close()
        except Exception as error:  # OSError, TimeoutError, a malformed address ...
            return f"cannot reach the Dask scheduler at {scheduler}: {error}".splitlines()[0]
    if db_url:
        from nbgrader.api import Gradebook

        try:
            Gradebook(db_url).close()
        except Exception as error:  # a bad URL, a missing driver, a refused connection
            return f"cannot open the gradebook {db_url}: {error}".splitlines()[0]
    return ""


def _check(args: argparse.Namespace) -> int:
    from autograder import check

    return check.main(args.notebook, args.root, args.cell_timeout)


def parser() -> argparse.ArgumentParser:
    """The argument parser, one subcommand per instructor verb."""
    top = argparse.ArgumentParser(prog="autograder", description=__doc__)
    top.add_argument("--root", type=Path, default=course_root.REPO_ROOT,
                     help="the nbgrader course folder (default: this repository)")
    verbs = top.add_subparsers(dest="verb", required=True)
    release = verbs.add_parser("release", help="regenerate release/ from source/ with nbgrader")
    release.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    release.set_defaults(run=_release)
    verbs.add_parser("normalise", help="strip outputs and volatile metadata from source/"
                     ).set_defaults(run=_normalise)
    verbs.add_parser("demo", help="grade a demo class of every assignment and print the table"
                     ).set_defaults(run=_demo)
    grade = verbs.add_parser("grade", help="grade a class: a folder of <student>/<notebook>.ipynb "
                             "or an LMS zip")
    grade.add_argument("assignment", help="assignment name, a folder of source/")
    grade.add_argument("submissions", type=Path, help="folder or zip of submissions")
    grade.add_argument("--out", type=Path, help="output folder (default: graded/ASSIGNMENT)")
    grade.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                       help="parallel grading processes (default: the number of cores)")
    grade.add_argument("--scheduler", help="grade on the Dask cluster at this address (e.g. "
                       "tcp://10.0.0.5:8786; default: c.GradingCluster.scheduler in "
                       "nbgrader_config.py, else the local pool)")
    grade.add_argument("--record", action="store_true",
                       help="also record the results in the course's nbgrader gradebook "
                       "(for formgrader and nbgrader export)")
    grade.add_argument("--db-url", help="the gradebook to record in, e.g. postgresql://... "
                       "(default: CourseDirectory.db_url, a SQLite file in the course)")
    grade.add_argument("--unsandboxed", action="store_true",
                       help="run students' code without bubblewrap (unsafe: trusted code only)")
    grade.add_argument("--no-verify", action="store_true",
                       help="skip the independent re-check of each submission")
    grade.add_argument("--memory-mb", type=int, default=3072, help="memory limit per kernel")
    grade.add_argument("--cell-timeout", type=int, default=60, help="seconds per cell")
    grade.add_argument("--submission-timeout", type=int, default=900,
                       help="seconds per submission")
    grade.set_defaults(run=_grade)
    check = verbs.add_parser("check", help="run a notebook's visible tests (for students)")
    check.add_argument("notebook", type=Path, help="your notebook, e.g. release/01_forward/...")
    check.add_argument("--cell-timeout", type=int, default=60,
                       help="seconds per cell (a slow cell fails; the other tests still run)")
    check.set_defaults(run=_check)
    solutions = verbs.add_parser("solutions", help="execute every source notebook and write the "
                                 "worked-solutions site (HTML, opens from disk)")
    solutions.add_argument("--out", type=Path, default=None,
                           help="output folder (default: <root>/build/solutions)")
    solutions.set_defaults(run=_solutions)
    return top


def main(argv: list[str] | None = None) -> int:
    """Run one verb; the exit status is non-zero only when the verb itself could not run."""
    args = parser().parse_args(argv)
    return args.run(args)
