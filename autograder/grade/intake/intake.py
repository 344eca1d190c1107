"""Intake: read a class's submissions (a folder or an LMS zip) and rebuild every notebook.

Each submitted notebook is rebuilt from the release notebook (:func:`merge`), with the student's
code: their solution cells (matched by nbgrader grade id, then by cell id; split or duplicated
pieces joined), the cells the release leaves open to them, and the code cells they added. What
could change a grade (edited or deleted tests, changed tags or metadata, code that patches the
modules it imports, stray files, a renamed or unreadable notebook) is reported as a flag, never
fatal.

Reading the export, student by student, is ``autograder.grade.intake.lms`` (``collect`` is
re-exported here).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

import nbformat

from autograder import cells
from autograder.grade.intake.lms import Submission, collect

__all__ = ["Rebuilt", "Submission", "collect", "merge", "rebuild"]

# A __future__ import, legal only at the top of a cell: hoisted when pieces are joined.
FUTURE = re.compile(r"^from __future__ import [\w, ()]+$")


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
    """The release notebook with the student's code, and what the grader must flag.

    Given and test cells come from the release. The student's cells that carry a solution's
    grade id (one cell, or the pieces of one split or duplicated) become that solution, joined
    in notebook order; a cell the release leaves open to the student ("paste your ...") keeps
    the student's text; each code cell the student added is kept, marked, after the release cell
    it followed. Markdown notes, outputs, cell ids and the notebook's format version are
    ignored; only what can change a grade is flagged.
    """
    rebuilt = copy.deepcopy(release_nb)
    pieces, added = _match(rebuilt, student_nb)
    flags, ignored, merged = [], [], [_added_cell(c) for c in added.get(None, [])]
    for cell in rebuilt.cells:
        key, meta = _key(cell), cells.nbgrader_meta(cell)
        theirs = pieces.get(key, [])
        if not theirs and meta.get("solution"):
            flags.append(f"solution cell {key} deleted: graded as unanswered")
        elif not theirs and meta.get("grade"):
            flags.append(f"test cell {key} deleted: restored")
        elif not theirs and cells.is_open(cell):
            continue
        elif meta.get("solution"):
            cell.source, piece_flags = _joined(key, [c.get("source", "") for c in theirs])
            flags += piece_flags
        elif meta.get("grade") and any(c.get("source") != cell.source for c in theirs):
            flags.append(f"test cell {key} edited: the original was used")
            ignored.append({"cell": key, "why": f"your edit of test cell {key} (the course's "
                            "test was run)"})
        elif cells.is_open(cell):
            cell.source = theirs[0].get("source", "")
        elif cell.cell_type == "code" and any(c.get("source") != cell.source for c in theirs):
            ignored.append({"cell": key, "why": f"your edit of the course's cell {key} (its "
                            "original was used)"})
        if any(c.get("metadata", {}).get("nbgrader", meta) != meta
               or c.get("metadata", {}).get("tags", []) != cell.metadata.get("tags", [])
               for c in theirs):
            flags.append(f"cell {key}: tags or grading metadata changed: ignored")
        merged.append(cell)
        merged += [_added_cell(c) for c in added.get(key, [])]
    for cell in merged:
        if cells.is_student_code(cell) or cells.is_open(cell):
            flags += _patch_flags(cell)
    rebuilt.cells = merged
    rebuilt.metadata[cells.ADDED] = {"ignored": ignored}
    return rebuilt, flags


def _match(release_nb, student_nb) -> tuple[dict, dict]:
    """The student's cells by release key, and their added code cells by the key of the
    release cell they follow (None: before every release cell)."""
    keys = {_key(c) for c in release_nb.cells}
    # A notebook saved without cell ids (Colab, nbformat < 4.5): open cells match by text.
    open_by_text = {c.source: _key(c) for c in release_nb.cells if cells.is_open(c)}
    pieces: dict[str | None, list] = {}
    added: dict[str | None, list] = {}
    anchor = None
    for cell in student_nb.cells:
        key = _key(cell)
        if key not in keys and cell.get("cell_type") == "code":
            key = open_by_text.get(cell.get("source"), key)
        if key in keys:
            pieces.setdefault(key, []).append(cell)
            anchor = key
        elif cell.get("cell_type") == "code" and cell.get("source", "").strip():
            added.setdefault(anchor, []).append(cell)
    return pieces, added


def _added_cell(cell) -> nbformat.NotebookNode:
    """A clean copy of a code cell the student added (their metadata is not carried over)."""
    return nbformat.v4.new_code_cell(cell.get("source", ""),
                                     metadata={cells.ADDED: {"added": True}})


def _joined(key: str, sources: list[str]) -> tuple[str, list[str]]:
    """One answer from the pieces of a split or duplicated solution cell, and its flags: a
    copy of a piece counts once (nothing to flag: the copies agree); two pieces that define one
    name differently are flagged."""
    unique = list(dict.fromkeys(sources))
    flags: list[str] = []
    seen: dict[str, str] = {}
    for source in unique:
        for name, definition in cells.top_level_definitions(source).items():
            if seen.setdefault(name, definition) != definition:
                flags.append(f"cell {key}: its pieces define {name} twice, differently (the "
                             "later one is graded)")
    if len(unique) == 1:
        return unique[0], flags
    if any(s.lstrip().startswith("%%") for s in unique):
        unique = [cells.python(s) for s in unique]  # a cell magic applies to its own piece
    lines = [line for s in unique for line in s.splitlines()]
    future = [line for line in lines if FUTURE.match(line)]  # legal at the top of each piece
    return "\n".join([*dict.fromkeys(future), *(x for x in lines if not FUTURE.match(x))]), \
        list(dict.fromkeys(flags))


def _patch_flags(cell) -> list[str]:
    patched = cells.module_patches(cell.source)
    if not patched:
        return []
    where = (f"solution cell {_key(cell)}" if cells.nbgrader_meta(cell).get("solution")
             else "an added cell" if cells.is_added(cell) else f"cell {_key(cell)}")
    return [f"{where} changes {', '.join(patched)}: code it imports is not the student's to "
            "change"]
