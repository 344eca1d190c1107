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
    from autograder.author import notebook_format

    changed = [p for p in sorted((args.root / "source").rglob("*.ipynb"))
               if ".ipynb_checkpoints" not in p.parts and notebook_format.normalise_file(p)]
    for path in changed:
        print(f"normalised {path.relative_to(args.root)}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from autograder.demo import demo

    demo.run(args.root)
    return 0


def _solutions(args: argparse.Namespace) -> int:
    from autograder.author import site

    out = args.out if args.out is not None else args.root / site.DEFAULT_OUT
    try:
        pages = site.build(args.root, out)
    except site.NotebookFailed as error:
        print(error, file=sys.stderr)
        return 1
    print(f"{len(pages)} notebooks with their solutions: open {out / site.INDEX}")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from autograder.grade.intake import lateness, lms
    from autograder.grade.report import report
    from autograder.grade.run import classroom, journal
    from autograder.grade.sandbox import sandbox

    if not (args.root / course_root.CONFIG_FILE).is_file():
        return _refuse(f"{args.root} is not a course folder (no {course_root.CONFIG_FILE})")
    try:
        config = course_root.load_config(args.root)
    except Exception as error:  # a syntax error, a failing import in the instructor's file
        return _refuse(f"{args.root / course_root.CONFIG_FILE} cannot be read: "
                       f"{type(error).__name__}: {error}".splitlines()[0])
    scheduler = args.scheduler or config.GradingCluster.get("scheduler")
    if not (args.unsandboxed or scheduler or args.dry_run):  # a cluster's workers check
        try:
            sandbox.bwrap_path()
        except sandbox.SandboxUnavailable as error:
            return _refuse(str(error))
    problem = "" if args.dry_run else settings_problem(scheduler,
                                                       args.db_url if args.record else None)
    if problem:
        return _refuse(problem)
    try:
        classroom.check_assignment(args.root, args.assignment)
        lateness.policy(args.root, args.assignment)
        intake = classroom.read_class(args.assignment, args.submissions, args.pattern or "",
                                      args.root)
    except (classroom.UnknownAssignment, lateness.BadDueDate, lms.IntakeError) as error:
        return _refuse(str(error))
    if not intake.submissions:
        ignored = f" ({len(intake.ignored)} entries, none a student's)" if intake.ignored else ""
        return _refuse(f"{intake.description} holds no submissions{ignored}")
    if args.dry_run:
        _list(intake, args)
        return 0
    out = args.out or args.root / "graded" / args.assignment
    force: bool | set[str] = args.force
    if args.student is not None:
        chosen = lms.select(intake, args.student)
        if len(chosen) != 1:
            return _refuse(_selection_problem(args.student, chosen, intake))
        if not journal.Journal(out, args.assignment).exists():
            return _refuse(f"no earlier run of {args.assignment} in {out} (its "
                           f"{journal.FOLDER}/{args.assignment}/ is empty): grade the class first")
        force = {chosen[0].student}
    options = classroom.Options(
        workers=args.workers, sandboxed=not args.unsandboxed, verify=not args.no_verify,
        scheduler=scheduler, record=args.record, db_url=args.db_url,
        limits=sandbox.Limits(memory_bytes=args.memory_mb * 1024**2),
        cell_timeout=args.cell_timeout, submission_timeout=args.submission_timeout)
    try:
        outcomes, notes, max_score = classroom.grade_intake(args.assignment, intake, out,
                                                            options, args.root, force)
    except KeyboardInterrupt:
        print(f"\ninterrupted: every result that arrived is kept in {out / journal.FOLDER}; "
              "the same command again grades only the rest")
        return 130
    except OSError as error:  # a full disk, an output folder we may not write
        return _refuse(f"cannot write the results in {out}: {error}".splitlines()[0])
    for note in notes:
        print(_printable(note))
    for o in outcomes:
        if not o.student:
            print(_printable(f"ignored: {o.message}"))
            continue
        print(_printable(f"{o.who.student_id:<20} {o.final_score:>6g} / {max_score:g}  "
                         f"{o.status}" + (f": {o.message}" if o.message else "")))
    try:
        report.write(out, args.assignment, outcomes, notes, max_score, args.root)
    except OSError as error:
        return _refuse(f"cannot write the results in {out}: {error}".splitlines()[0])
    print(f"\nWritten to {out}: summary.csv, cells.csv, grades-*.csv, results/, feedback/, "
          "report.html")
    print(report.tally(outcomes))
    return 0


def _list(intake, args: argparse.Namespace) -> None:
    """``--dry-run``: what intake found, student by student; nothing is graded."""
    from autograder.grade.intake import lateness

    policy = lateness.policy(args.root, args.assignment)
    for s in intake.submissions:
        who = s.who
        seen = [who.source] + ([f"user id {who.lms_user_id}"] if who.lms_user_id else []) + \
            ([who.name] if who.name and who.name != who.student_id else [])
        when = (f"submitted {s.submitted_at:%Y-%m-%d %H:%M:%S} UTC ({s.time_source})"
                if s.submitted_at else "no submission time")
        late = policy.seconds_late(s.submitted_at)
        if s.late_marker or late:
            when += ", late" + (f" by {late / 3600:.1f} h" if late else " (the LMS says so)")
        files = ", ".join(sorted(s.files)) or "no notebook"
        print(_printable(f"{who.student_id} [{', '.join(seen)}] as {s.student}: {files}; {when}"))
        for flag in s.flags:
            print(_printable(f"    {flag}"))
    for entry in intake.ignored:
        print(_printable(f"ignored: {entry}"))
    print(f"dry run: {len(intake.submissions)} students, {len(intake.ignored)} ignored, "
          "nothing graded")


def _printable(text: str) -> str:
    """Text for the terminal: a control character in an id or a file name (an escape
    sequence, a newline) is shown as ``?``, never obeyed."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _selection_problem(wanted: str, chosen: list, intake) -> str:
    if not chosen:
        return f"no student {wanted!r} in {intake.description}"
    return (f"{len(chosen)} students match {wanted!r}: "
            + ", ".join(f"{s.student} (user id {s.who.lms_user_id or '-'})" for s in chosen)
            + "; give the user id or the key")


def _refuse(message: str) -> int:
    """The run cannot proceed: one line, exit status 2."""
    print(_printable(f"autograder: {message}"))
    return 2


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
    from autograder.check import check

    return check.main(args.notebook, args.root, args.cell_timeout)


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake said in one line (and exit status 2, as argparse does)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def program_name() -> str:
    """``conv-course`` when run as that entry point, else ``python -m autograder``."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return name if name and name not in ("__main__.py", "-c") else "python -m autograder"


def parser() -> argparse.ArgumentParser:
    """The argument parser, one subcommand per instructor verb."""
    top = _Parser(prog=program_name(), description=__doc__)
    top.add_argument("--root", type=Path, default=course_root.REPO_ROOT,
                     help="the nbgrader course folder (default: %(default)s)")
    verbs = top.add_subparsers(dest="verb", required=True)
    release = verbs.add_parser("release", help="regenerate release/ from source/ with nbgrader")
    release.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    release.set_defaults(run=_release)
    verbs.add_parser("normalise", help="strip outputs and volatile metadata from source/"
                     ).set_defaults(run=_normalise)
    verbs.add_parser("demo", help="grade a demo class of every assignment and print the table"
                     ).set_defaults(run=_demo)
    grade = verbs.add_parser(
        "grade", help="grade a class: a folder or an LMS zip (Canvas, Moodle, Blackboard, "
        "nbgrader, GitHub Classroom)", description="Grade a class. Exit status: 0 when the "
        "run completed (whatever each student's status), 2 when it cannot proceed (a bad "
        "path, assignment or archive, no submissions, no sandbox, an output folder it cannot "
        "write), 130 when interrupted (the same command resumes). docs/lms.md lists the "
        "exports read and the files written.")
    grade.add_argument("assignment", help="assignment name, a folder of source/")
    grade.add_argument("submissions", type=Path, help="folder or zip of submissions")
    grade.add_argument("--out", type=Path,
                       help="output folder (default: <root>/graded/ASSIGNMENT)")
    grade.add_argument("--dry-run", action="store_true",
                       help="list what intake found, student by student, and grade nothing")
    grade.add_argument("--student", metavar="ID",
                       help="regrade one student (id, LMS user id or key) into the earlier "
                       "run in --out, even if their submission did not change; the others "
                       "keep their results unless theirs changed")
    grade.add_argument("--force", action="store_true",
                       help="regrade every student (by default a rerun into the same --out "
                       "resumes: students already graded from the same submission, material, "
                       "code and options keep their journaled result)")
    grade.add_argument("--pattern", metavar="REGEX",
                       help="file names no LMS rule knows, as nbgrader's zip_collect reads "
                       "them: (?P<student_id>...) and optionally (?P<file_id>...), "
                       "(?P<timestamp>...) (default: c.FileNameCollectorPlugin.named_regexp)")
    grade.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                       help="parallel grading processes (default: the number of cores, "
                       "%(default)s)")
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
    grade.add_argument("--memory-mb", type=int, default=3072,
                       help="memory limit per kernel in MiB (default: %(default)s)")
    grade.add_argument("--cell-timeout", type=int, default=60,
                       help="seconds per cell (default: %(default)s)")
    grade.add_argument("--submission-timeout", type=int, default=900,
                       help="seconds per submission (default: %(default)s)")
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
