"""The run's journal: each student's result on disk the moment it arrives, so a run resumes.

One JSON file per student in ``<out>/journal/<assignment>/``, written atomically (a temporary file
renamed over the old one): a coordinator killed at any instant leaves whole entries only, and
rerunning the same command grades only who is missing. An entry is reused when its *fingerprint*
matches: the same assignment material, course configuration, course and grader code, installed
packages, grading options, and submitted notebooks (content hashes). A grading that failed is
never reused: the next run tries that student again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from autograder import course_root
from autograder.grade.execute import grading
from autograder.grade.run import worker
from autograder.grade.verify import verify

FOLDER = "journal"
CODE_PACKAGES = ("course", "autograder")  # their code decides grades: a change regrades all


@dataclass(frozen=True)
class Entry:
    """One student's journaled grading: what was graded, and what the task gave back."""

    fingerprint: str
    submitted: dict[str, str]
    result: worker.Result


def run_fingerprint(material: worker.Material, task_options: dict[str, object],
                    root: Path = course_root.REPO_ROOT) -> str:
    """What every student's grading of this run depends on, apart from their notebooks: the
    assignment's source, the course's nbgrader configuration, the code of the course and of the
    grader, every installed package's version, and the grading options."""
    digest = hashlib.sha256(material.assignment.encode())
    files = {name: data for name, data in material.files.items()}
    for folder in sorted({course_root.REPO_ROOT, root}):
        files[str(folder / course_root.CONFIG_FILE)] = \
            (folder / course_root.CONFIG_FILE).read_bytes()
        for package in CODE_PACKAGES:
            for path in (folder / package).rglob("*.py"):
                files[str(path)] = path.read_bytes()
    for name, data in sorted(files.items()):
        digest.update(f"\0{name}\0{len(data)}\0".encode())
        digest.update(data)
    versions = sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions())
    digest.update(json.dumps([versions, task_options], sort_keys=True, default=str).encode())
    return digest.hexdigest()


def fingerprint(run: str, notebooks: dict[str, str]) -> str:
    """One student's fingerprint: the run's, and their notebooks' names and contents."""
    digest = hashlib.sha256(run.encode())
    for name, text in sorted(notebooks.items()):
        digest.update(f"\0{name}\0".encode())
        digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


class Journal:
    """The entries of one assignment's runs into one output folder, one file per student key
    (``<out>/journal/<assignment>/<key>.json``: another assignment's run never mixes in)."""

    def __init__(self, out: Path, assignment: str):
        self.folder = out / FOLDER / assignment

    def exists(self) -> bool:
        """Whether an earlier run left any entry."""
        return self.folder.is_dir() and any(self.folder.glob("*.json"))

    def store(self, student: str, fingerprint: str, submitted: dict[str, str],
              result: worker.Result) -> None:
        """Write ``student``'s entry atomically (durable once this returns)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {"fingerprint": fingerprint, "submitted": submitted,
                "result": dataclasses.asdict(result)}
        write_atomically(self.folder / f"{student}.json",
                          json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass"))

    def read(self, student: str) -> Entry | None:
        """``student``'s entry, or None (none yet, or not readable: then it is regraded)."""
        path = self.folder / f"{student}.json"
        try:
            data = json.loads(path.read_bytes().decode("utf-8", "surrogatepass"))
            return Entry(data["fingerprint"], data["submitted"], _result(data["result"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def reusable(self, student: str, fingerprint: str) -> Entry | None:
        """The entry to reuse instead of grading ``student`` again, if there is one."""
        entry = self.read(student)
        if entry is None or entry.fingerprint != fingerprint or \
                entry.result.grade.status == "grading failed":
            return None
        return entry

    def recorded(self, gradebook: str) -> set[tuple[str, str]]:
        """(student, fingerprint) pairs already recorded into ``gradebook`` (a key of its URL)."""
        path = self._recorded_path(gradebook)
        if not path.is_file():
            return set()
        pairs = (line.split("\t") for line in path.read_text().splitlines())
        return {(p[0], p[1]) for p in pairs if len(p) == 2}

    def mark_recorded(self, gradebook: str, pairs: Iterable[tuple[str, str]]) -> None:
        """Append pairs just committed to ``gradebook``."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._recorded_path(gradebook).open("a") as file:
            file.writelines(f"{student}\t{fp}\n" for student, fp in pairs)
            file.flush()
            os.fsync(file.fileno())

    def _recorded_path(self, gradebook: str) -> Path:
        return self.folder / f"recorded-{hashlib.sha256(gradebook.encode()).hexdigest()[:16]}.tsv"


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step: a reader (or a rerun after a kill) sees the
    old file or the new one, never a part."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as file:
        file.write(data)
    os.replace(temporary, path)


def _result(data: dict) -> worker.Result:
    grade = data["grade"]
    grade["cells"] = {g: grading.CellScore(**c) for g, c in grade["cells"].items()}
    verdict = verify.Verdict(**data["verdict"]) if data["verdict"] is not None else None
    return worker.Result(grading.AssignmentGrade(**grade), data["autograded"], data["feedback"],
                         verdict)
