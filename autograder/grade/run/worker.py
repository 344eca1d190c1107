"""Grade one submission as a stateless task: notebooks in, scores, outputs and feedback out.

The task runs nbgrader's real autograde in a throwaway course folder (the assignment's source and a
copy of a gradebook template), so a worker never touches the instructor's gradebook and the same
task can run in a local process or on a remote machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import course_root
from autograder.grade.execute import grading
from autograder.grade.feedback import feedback, feedback_safety
from autograder.grade.sandbox import sandbox, zygote
from autograder.grade.verify import verify

TASK_SLACK_SECONDS = 300  # kernel starts, feedback and bookkeeping, on a loaded machine


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


def task_config(task: Task, course_dir: Path, sockets: Path, private: Path):
    """The course's nbgrader configuration, pointed at the throwaway course and the sandbox.

    ``sockets`` is the one folder the kernel can write that the grader uses: the kernel binds
    its sockets there, and the grader only connects to them. Everything the grader writes or
    reads as a file (the connection file, the kernelspec, the notebooks being graded, the
    kernel's working folder for a cold start) is in ``private`` or ``course_dir``, out of the
    kernel's sight: a kernel that could plant a link or a FIFO there would steer the grader's
    writes, read the hidden tests, or choose the command of the next kernel.
    """
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )

    from autograder.grade.execute.execute import ResilientExecute

    config = course_root.load_config()
    config.CourseDirectory.root = str(course_dir)
    config.Execute.timeout = task.cell_timeout
    config.ResilientExecute.submission_timeout = task.submission_timeout
    config.ResilientExecute.grade_only = True
    config.ResilientExecute.kernel_cwd = str(private)
    config.Autograde.autograde_preprocessors = [
        ResilientExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
        AssignLatePenalties, CheckCellMetadata]
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = str(sockets / "ipc")
    config.KernelManager.connection_file = str(private / "connection.json")
    if task.sandboxed:
        config.Execute.kernel_name = sandbox.install_kernelspec(
            private / "jupyter", [sockets], task.limits,
            sandbox.kernel_environment(task.student), provisioner=zygote.PROVISIONER)
    return config


class TaskTimeout(Exception):
    """A task ran past every deadline it has inside (a bug of ours, or a wait we missed)."""


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`TaskTimeout` in this task after ``seconds`` (in a main thread: a pool's
    worker process; elsewhere the inner deadlines alone hold)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise TaskTimeout(f"the task took over {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(int(seconds))
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run(task: Task) -> Result:
    """Grade one task; never raises for anything the submission does, and never runs past
    the notebook's time budget plus the re-check's (then it raises :class:`TaskTimeout`, and the
    pool reports that student's grading as failed)."""
    with _deadline(task.submission_timeout + verify.Job.budget + TASK_SLACK_SECONDS):
        return _run(task)


def _run(task: Task) -> Result:
    from nbgrader.apps import NbGraderAPI

    assignment = task.material.assignment
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp, _kernel_folder(task) as sockets:
        course_dir, private = Path(tmp) / "course", Path(tmp) / "private"
        private.mkdir()
        source = task.material.unpack(course_dir)
        grading.submit(course_dir, assignment, task.student, task.notebooks)
        os.environ["JUPYTER_PATH"] = str(private / "jupyter")
        os.environ["JUPYTER_RUNTIME_DIR"] = str(private)
        api = NbGraderAPI(config=task_config(task, course_dir, sockets, private))
        grade = grading.autograde(api, assignment, task.student)
        result = Result(grade)
        if grade.status == "graded":
            folder = course_dir / "autograded" / task.student / assignment
            result.autograded = {p.name: feedback_safety.sanitised(p.read_text())
                                 for p in folder.glob("*.ipynb")}
            if task.verify:
                result.verdict = _verify(task, source)
            _protect_feedback(folder, result.verdict)
            verdict = result.verdict or verify.Verdict()
            feedback.annotate(folder, task.notebooks, verdict.points, verdict.reasons)
            api.generate_feedback(assignment, task.student, force=True)
            folder = course_dir / "feedback" / task.student / assignment
            result.feedback = {p.name: p.read_text() for p in folder.glob("*.html")}
        return result


def _protect_feedback(folder: Path, verdict: verify.Verdict | None) -> None:
    """Rewrite the graded notebooks that feedback is made from (the originals are in the
    result): nothing printed after hidden tests ran in the kernel reaches the student."""
    rechecked = {} if verdict is None else {g: verdict.reasons.get(g, "") for g in verdict.points}
    for path in folder.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        nbformat.write(feedback_safety.protect(nb, rechecked), path)


@contextlib.contextmanager
def _kernel_folder(task: Task) -> Iterator[Path]:
    """A fresh folder for the kernel's sockets: in the zygote's shared folder (emptied of
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
