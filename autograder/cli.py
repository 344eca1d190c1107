"""Command line: ``python -m autograder <verb>`` (also installed as ``conv-course``)."""

from __future__ import annotations

import argparse
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
    return top


def main(argv: list[str] | None = None) -> int:
    """Run one verb; the exit status is non-zero only when the verb itself could not run."""
    args = parser().parse_args(argv)
    return args.run(args)
