"""Grade one submission as a stateless task: notebooks in, scores, outputs and feedback out.

The task runs nbgrader's real autograde in a throwaway course folder (the assignment's source and a
copy of a gradebook template), so a worker never touches the instructor's gradebook and the same
task can run in a local process or on a remote machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from autograder import course_root, feedback, grading, sandbox, verify, zygote


@dataclass(frozen=True)
class Material:
    """What every task of one assignment needs, as data (a task may run on another machine):
    the files of ``source/<assignment>/`` and a gradebook that already knows the assignment."""

    assignment: str
    files: dict[str, bytes]
    gradebook: bytes

    def unpack(self, course_dir: Path) -> Path:
        """Write the material into a course folder; return its source folder."""
        source = course_dir / "source" / self.assignment
        for name, data in self.files.items():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes(data)
        (course_dir / "gradebook.db").write_bytes(self.gradebook)
        return source


@dataclass(frozen=True)
class Task:
    """One student's rebuilt notebooks for one assignment, and how to grade them."""

    student: str
    material: Material
    notebooks: dict[str, str]
    sandboxed: bool = True
    limits: sandbox.Limits = sandbox.Limits()
    cell_timeout: int = 60
    submission_timeout: int = 900
    verify: bool = True


@dataclass
class Result:
    """What a task gives back: the grade, the executed notebooks, feedback, the re-check."""

    grade: grading.AssignmentGrade
    autograded: dict[str, str] = field(default_factory=dict)
    feedback: dict[str, str] = field(default_factory=dict)
    verdict: verify.Verdict | None = None


def task_config(task: Task, course_dir: Path, kernel_dir: Path, jupyter_dir: Path):
    """The course's nbgrader configuration, pointed at the throwaway course and the sandbox.

    ``kernel_dir`` (connection file, sockets) is visible to the kernel; ``jupyter_dir``, where
    the kernelspec is written, must not be: a kernel that could rewrite it would choose the
    command of the next kernel.
    """
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )

    from autograder.execute import ResilientExecute

    config = course_root.load_config()
    config.CourseDirectory.root = str(course_dir)
    config.Execute.timeout = task.cell_timeout
    config.ResilientExecute.submission_timeout = task.submission_timeout
    config.ResilientExecute.grade_only = True
    config.Autograde.autograde_preprocessors = [
        ResilientExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
        AssignLatePenalties, CheckCellMetadata]
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = str(kernel_dir / "ipc")
    config.KernelManager.connection_file = str(kernel_dir / "connection.json")
    if task.sandboxed:
        visible = [kernel_dir, (course_dir / "autograded").resolve()]
        config.Execute.kernel_name = sandbox.install_kernelspec(
            jupyter_dir, visible, task.limits, provisioner=zygote.PROVISIONER)
    return config


def run(task: Task) -> Result:
    """Grade one task; never raises for anything the submission does."""
    from nbgrader.apps import NbGraderAPI

    assignment = task.material.assignment
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp, _kernel_folder(task) as visible:
        course_dir, jupyter_dir = Path(tmp) / "course", Path(tmp) / "jupyter"
        kernel_dir = visible / "kernel"
        kernel_dir.mkdir(parents=True)
        source = task.material.unpack(course_dir)
        (visible / "autograded").mkdir()
        (course_dir / "autograded").symlink_to(visible / "autograded")
        grading.submit(course_dir, assignment, task.student, task.notebooks)
        os.environ["JUPYTER_PATH"] = str(jupyter_dir)
        os.environ["JUPYTER_RUNTIME_DIR"] = str(kernel_dir)
        api = NbGraderAPI(config=task_config(task, course_dir, kernel_dir, jupyter_dir))
        grade = grading.autograde(api, assignment, task.student)
        result = Result(grade)
        if grade.status == "graded":
            folder = course_dir / "autograded" / task.student / assignment
            result.autograded = {p.name: p.read_text() for p in folder.glob("*.ipynb")}
            if task.verify:
                result.verdict = _verify(task, source)
            verdict = result.verdict or verify.Verdict()
            feedback.annotate(folder, task.notebooks, verdict.points, verdict.reasons)
            api.generate_feedback(assignment, task.student, force=True)
            folder = course_dir / "feedback" / task.student / assignment
            result.feedback = {p.name: p.read_text() for p in folder.glob("*.html")}
        return result


@contextlib.contextmanager
def _kernel_folder(task: Task) -> Iterator[Path]:
    """A fresh folder for what the kernel may see: in the zygote's shared folder (emptied of
    earlier tasks first) when sandboxed, a private temporary folder otherwise."""
    parent = None
    if task.sandboxed:
        warm = zygote.for_limits(task.limits)
        warm.clear_root()
        parent = warm.root
    with tempfile.TemporaryDirectory(prefix="kernel-", dir=parent) as folder:
        yield Path(folder)


def _verify(task: Task, source: Path) -> verify.Verdict:
    """The independent re-check; if it cannot run, say so and overrule nothing."""
    job = verify.Job(task.student, source, task.notebooks, task.sandboxed, task.limits,
                     task.cell_timeout)
    try:
        return verify.run(job)
    except Exception as error:  # a bug of ours must not cost the student their grade
        return verify.failed(job, error)


def prepare(assignment: str, workdir: Path, root: Path = course_root.REPO_ROOT) -> Material:
    """Generate the assignment of the course at ``root`` once into ``workdir``; keep its source
    files and the gradebook that generation made."""
    from autograder import release

    source = workdir / "source" / assignment
    shutil.copytree(root / "source" / assignment, source, dirs_exist_ok=True)
    shutil.copy(root / course_root.CONFIG_FILE, workdir)
    release.generate(workdir, [assignment])
    files = {p.relative_to(source).as_posix(): p.read_bytes()
             for p in sorted(source.rglob("*")) if p.is_file()}
    return Material(assignment, files, (workdir / "gradebook.db").read_bytes())
