"""Intake: read a class's submissions (a folder or an LMS zip) and rebuild every notebook.

Reading the export, student by student, is ``autograder.lms`` (``collect`` is re-exported here).

Each submitted notebook is rebuilt from the release notebook, taking only the source of the
student's solution cells (matched by nbgrader grade id, then by cell id). Everything else the
student changed (tests, tags, metadata, added, deleted or duplicated cells, stray files, a renamed
or unreadable notebook) is reported as a flag, never fatal.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass

import nbformat

from autograder import cells
from autograder.lms import Submission, collect

__all__ = ["Rebuilt", "Submission", "collect", "merge", "rebuild"]


@dataclass
class Rebuilt:
    """A submission ready to grade: notebook texts by release name, or the reason it cannot be."""

    student: str
    notebooks: dict[str, str]
    flags: list[str]
    problem: str = ""


def rebuild(submission: Submission, release: dict[str, nbformat.NotebookNode]) -> Rebuilt:
    """Rebuild each release notebook with the student's solution cells."""
    flags = list(submission.flags)
    notebooks = {}
    unclaimed = sorted(set(submission.files) - set(release))
    for name, release_nb in release.items():
        raw = submission.files.get(name)
        if raw is None and len(unclaimed) == 1 and len(release) == 1:
            flags.append(f"notebook renamed: {unclaimed[0]} graded as {name}")
            raw = submission.files[unclaimed.pop()]
        if raw is None:
            return Rebuilt(submission.student, {}, flags, f"no notebook {name} in the submission")
        try:
            student_nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        except Exception as error:  # invalid JSON, wrong encoding, not a notebook at all
            reason = str(error).strip().splitlines()[0] if str(error).strip() else "empty file"
            return Rebuilt(submission.student, {}, flags,
                           f"{name} is not a valid notebook: {reason[:200]}")
        rebuilt, cell_flags = merge(release_nb, student_nb)
        flags += [f"{name}: {flag}" for flag in cell_flags]
        notebooks[name] = nbformat.writes(rebuilt) + "\n"
    flags += [f"ignored notebook {name}" for name in unclaimed]
    return Rebuilt(submission.student, notebooks, flags)


def _key(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or cell.get("id")


def merge(release_nb: nbformat.NotebookNode, student_nb: nbformat.NotebookNode
          ) -> tuple[nbformat.NotebookNode, list[str]]:
    """The release notebook with the student's solution sources, and what else differed."""
    flags = []
    counts = Counter(_key(c) for c in student_nb.cells)
    student_cells = {}
    for cell in student_nb.cells:
        student_cells.setdefault(_key(cell), cell)
    flags += [f"cell {key} appears {n} times: the first copy was used"
              for key, n in counts.items() if key and n > 1]
    rebuilt = copy.deepcopy(release_nb)
    release_keys = {_key(c) for c in rebuilt.cells}
    for cell in rebuilt.cells:
        meta = cell.metadata.get("nbgrader", {})
        theirs = student_cells.get(_key(cell))
        if theirs is None:
            if meta.get("solution"):
                flags.append(f"solution cell {_key(cell)} deleted: graded as unanswered")
            elif meta.get("grade"):
                flags.append(f"test cell {_key(cell)} deleted: restored")
            continue
        if meta.get("solution"):
            cell.source = theirs.get("source", "")
            patched = cells.module_patches(cell.source)
            if patched:
                flags.append(f"solution cell {_key(cell)} changes {', '.join(patched)}: "
                             "code it imports is not the student's to change")
        elif meta.get("grade") and theirs.get("source") != cell.source:
            flags.append(f"test cell {_key(cell)} edited: the original was used")
        if theirs.get("metadata", {}).get("nbgrader", meta) != meta or \
                theirs.get("metadata", {}).get("tags", []) != cell.metadata.get("tags", []):
            flags.append(f"cell {_key(cell)}: tags or grading metadata changed: ignored")
    added = [c for c in student_nb.cells if _key(c) not in release_keys]
    if added:
        flags.append(f"{len(added)} added cell(s) ignored (only solution cells are graded)")
    return rebuilt, flags
