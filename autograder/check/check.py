"""The student's verb: run what ``grade`` runs on a saved notebook, with the visible tests.

The notebook is rebuilt from its release notebook as intake rebuilds a submission, run by the
grader's own kernel preprocessor (only what grading runs), then re-checked as ``grade``
re-checks it: a student never sees a pass here and a zero in the grade.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder import cells, course_root
from autograder.grade.execute import grading
from autograder.grade.intake import intake
from autograder.grade.sandbox import sandbox
from autograder.grade.verify import verify

CELL_TIMEOUT = 60


class NotCheckable(Exception):
    """The file cannot be checked; the message is one line that says why."""


@dataclass(frozen=True)
class CellResult:
    """One test cell: its grade id, its points and why it failed ('' if it passed)."""

    grade_id: str
    points: float
    error: str


@dataclass
class Checked:
    """Every test cell's result, and what the student should know about their notebook."""

    results: list[CellResult]
    notes: list[str]


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path``, or :class:`NotCheckable` with one clear line."""
    if not path.exists():
        raise NotCheckable(f"{path}: no such file")
    if path.is_dir() or path.suffix != ".ipynb":
        raise NotCheckable(f"{path} is not a notebook (a .ipynb file)")
    try:
        nb = nbformat.reads(path.read_bytes().decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as error:  # undecodable bytes, invalid JSON, JSON that is no notebook
        reason = (str(error).strip().splitlines() or ["empty file"])[0]
        raise NotCheckable(f"{path} is not a valid notebook: {reason[:200]}") from None
    return nb


def release_for(path: Path, nb: nbformat.NotebookNode, root: Path) -> Path:
    """The release notebook the student's notebook answers: same name, else most grade ids."""
    released = sorted((root / "release").glob("*/*.ipynb"))
    same_name = [p for p in released if p.name == path.name]
    if same_name:
        return same_name[0]
    ids = {cells.nbgrader_meta(c).get("grade_id") for c in nb.cells} - {None}
    overlap = {p: len(ids & {cells.nbgrader_meta(c).get("grade_id") for c in
                             nbformat.read(p, as_version=4).cells}) for p in released}
    best = max(overlap, key=overlap.get, default=None)
    if best is None or not overlap[best]:
        raise NotCheckable(f"{path} is not a notebook of this course (no exercise of it found)")
    return best


def syntax_errors(nb: nbformat.NotebookNode) -> dict[str, str]:
    """For each cell of the student's code that Python cannot read: its code, and one line."""
    problems = {}
    for step in cells.grading_steps(nb):
        if step.kind != "student":
            continue
        try:
            compile(cells.python(step.code), "<cell>", "exec")
        except SyntaxError as error:
            grade_id = cells.nbgrader_meta(nb.cells[step.index]).get("grade_id")
            where = f"solution cell {grade_id}" if grade_id else "a cell you added"
            problems[step.code] = (f"SyntaxError in {where}, its line {error.lineno}: "
                                   f"{error.msg} (nothing in that cell runs)")
    return problems


def _explained(error: str, broken: dict[str, str]) -> str:
    """A NameError for a function whose cell has a syntax error, said as that syntax error."""
    match = re.match(r"NameError: name '(\w+)' is not defined", error)
    if match:
        for code, problem in broken.items():
            if re.search(rf"\b(def|class)\s+{match[1]}\b", code):
                return f"{match[1]} is not defined: {problem}"
    return error


def check(path: Path, root: Path = course_root.REPO_ROOT,
          timeout: int = CELL_TIMEOUT) -> Checked:
    """Rebuild, run and re-check a student's notebook against its release's visible tests."""
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_client.utils import run_sync

    from autograder.grade.execute.execute import ResilientExecute

    student_nb = read_notebook(path)
    release_path = release_for(path, student_nb, root)
    release_nb = nbformat.read(release_path, as_version=4)
    rebuilt, flags = intake.merge(release_nb, student_nb)
    broken = syntax_errors(rebuilt)
    notes = list(broken.values()) + flags
    executed = nbformat.from_dict(rebuilt)
    kernel = ResilientExecute(timeout=timeout, grade_only=True, kernel_name="python3",
                              extra_arguments=["--InteractiveShell.xmode=Minimal"])
    with tempfile.TemporaryDirectory(prefix="check-") as sockets:  # as grading: no TCP port
        manager = AsyncKernelManager(kernel_name="python3", transport="ipc",
                                     ip=str(Path(sockets) / "ipc"))
        try:
            kernel.preprocess(executed, {"metadata": {"path": str(path.parent.resolve())}},
                              manager)
        finally:
            run_sync(manager.shutdown_kernel)(now=True)
    outcomes = grading.cell_outcomes(executed)
    verdict = _recheck(release_path, rebuilt, timeout)
    notes += verdict.flags
    results = []
    for cell in rebuilt.cells:
        meta = cells.nbgrader_meta(cell)
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        error = _explained(outcomes.get(meta["grade_id"], ("", None))[0], broken)
        if not error and verdict.points.get(meta["grade_id"], 1) == 0:
            error = ("the grader's re-check, which runs your functions outside your notebook, "
                     f"failed: {verdict.reasons.get(meta['grade_id'], '')}")
        results.append(CellResult(meta["grade_id"], meta.get("points", 0), error))
    return Checked(results, notes)


def _recheck(release_path: Path, rebuilt: nbformat.NotebookNode,
             timeout: int) -> verify.Verdict:
    """The re-check of ``grade``, on the visible tests, sandboxed if this machine can."""
    try:
        sandbox.bwrap_path()
        sandboxed = True
    except sandbox.SandboxUnavailable:
        sandboxed = False
    job = verify.Job("check", release_path.parent,
                     {release_path.name: grading.notebook_text(rebuilt)},
                     sandboxed=sandboxed, timeout=timeout)
    try:
        return verify.run(job)
    except Exception as error:  # a bug of ours must not fail the student's check
        return verify.failed(job, error)


def main(path: Path, root: Path = course_root.REPO_ROOT, timeout: int = CELL_TIMEOUT) -> int:
    """Print one line per test cell; exit status 1 if any fails (2 if it cannot be checked)."""
    try:
        checked = check(path, root, timeout)
    except NotCheckable as error:
        print(f"autograder check: {error}")
        return 2
    for note in checked.notes:
        print(f"note: {note}")
    for result in checked.results:
        mark = "pass" if not result.error else "FAIL"
        print(f"{mark}  {result.grade_id} ({result.points:g} points)")
        if result.error:
            print("      " + result.error.replace("\n", "\n      "))
    passed = sum(r.points for r in checked.results if not r.error)
    total = sum(r.points for r in checked.results)
    print(f"\nVisible tests: {passed:g} of {total:g} points pass. The grader also runs hidden "
          "cases.")
    return 0 if passed == total and checked.results else 1
