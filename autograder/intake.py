"""Intake: read a class's submissions (a folder or an LMS zip) and rebuild every notebook.

Each submitted notebook is rebuilt from the release notebook, taking only the source of the
student's solution cells (matched by nbgrader grade id, then by cell id). Everything else the
student changed (tests, tags, metadata, added, deleted or duplicated cells, stray files, a renamed
or unreadable notebook) is reported as a flag, never fatal.
"""

from __future__ import annotations

import copy
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

from autograder import cells

MAX_FILE_BYTES = 20 * 1024**2
# Canvas-style flat names: login_[late_]userid_submissionid_original-name.ipynb
LMS_NAME = re.compile(r"^(?P<student>[A-Za-z0-9.\-]+)_(?:late_)?\d+_\d+_(?P<name>.+)$")
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
