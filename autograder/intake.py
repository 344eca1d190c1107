"""Intake: read a class's submissions (a folder or an LMS zip) and rebuild every notebook.

Each submitted notebook is rebuilt from the release notebook (:func:`merge`), with the student's
code: their solution cells (matched by nbgrader grade id, then by cell id; split or duplicated
pieces joined), the cells the release leaves open to them, and the code cells they added. What
could change a grade (edited or deleted tests, changed tags or metadata, code that patches the
modules it imports, stray files, a renamed or unreadable notebook) is reported as a flag, never
fatal.
"""

from __future__ import annotations

import copy
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

from autograder import cells

MAX_FILE_BYTES = 20 * 1024**2
# Canvas-style flat names: login_[late_]userid_submissionid_original-name.ipynb
LMS_NAME = re.compile(r"^(?P<student>[A-Za-z0-9.\-]+)_(?:late_)?\d+_\d+_(?P<name>.+)$")
# A __future__ import, legal only at the top of a cell: hoisted when pieces are joined.
FUTURE = re.compile(r"^from __future__ import [\w, ()]+$")
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")


@dataclass
class Submission:
    """One student's files for one assignment: raw bytes by file name, plus what intake noticed."""

    student: str
    files: dict[str, bytes] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)


@dataclass
class Rebuilt:
    """A submission ready to grade: notebook texts by release name, or the reason it cannot be."""

    student: str
    notebooks: dict[str, str]
    flags: list[str]
    problem: str = ""


def collect(path: Path) -> tuple[dict[str, Submission], list[str]]:
    """Submissions by student from a folder of ``<student>/<files>`` or a zip; and batch notes."""
    if path.is_file() and zipfile.is_zipfile(path):
        return _from_zip(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path} is neither a folder of submissions nor a zip file")
    students: dict[str, Submission] = {}
    notes = []
    for folder in sorted(path.iterdir()):
        if not folder.is_dir():
            notes.append(f"ignored {folder.name}: not a student folder")
            continue
        if not STUDENT_ID.match(folder.name):
            notes.append(f"ignored folder {folder.name!r}: not a valid student id")
            continue
        submission = students.setdefault(folder.name, Submission(folder.name))
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            _add(submission, file.relative_to(folder).as_posix(), file.stat().st_size,
                 file.read_bytes)
    return students, notes


def _from_zip(path: Path) -> tuple[dict[str, Submission], list[str]]:
    students: dict[str, Submission] = {}
    notes = []
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            parts = PurePosixPath(info.filename).parts
            if ".." in parts or PurePosixPath(info.filename).is_absolute():
                notes.append(f"ignored {info.filename!r}: unsafe path")
                continue
            if parts[0] == "__MACOSX" or parts[-1].startswith("."):
                continue
            if len(parts) >= 2:
                student, name = parts[0], "/".join(parts[1:])
            elif match := LMS_NAME.match(parts[0]):
                student, name = match["student"], match["name"]
            else:
                notes.append(f"ignored {info.filename!r}: no student id in its name")
                continue
            if not STUDENT_ID.match(student):
                notes.append(f"ignored {info.filename!r}: {student!r} is not a valid student id")
                continue
            submission = students.setdefault(student, Submission(student))
            _add(submission, name, info.file_size, lambda info=info: archive.read(info))
    return students, notes


def _add(submission: Submission, name: str, size: int, read) -> None:
    if not name.endswith(".ipynb"):
        submission.flags.append(f"ignored file {name} (only notebooks are graded)")
    elif size > MAX_FILE_BYTES:
        submission.flags.append(f"ignored {name}: {size} bytes, over the {MAX_FILE_BYTES} limit")
    else:
        submission.files[PurePosixPath(name).name] = read()


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
    copy of a piece counts once; two pieces that define one name differently are flagged."""
    unique = list(dict.fromkeys(sources))
    flags: list[str] = []
    if len(unique) < len(sources):
        flags.append(f"cell {key} appears {len(sources)} times: identical copies, graded once")
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
