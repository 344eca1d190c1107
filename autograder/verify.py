"""Verification: re-check a submission with the test code outside the student's process.

What nbgrader's kernel ran of the notebook (``cells.grading_steps``: imports, the definitions of
given cells, the student's solution and added cells) runs again in a separate sandboxed Python
(``function_server``), with IPython's semantics;
the test cells run here, in a clean interpreter, with each student function replaced by a proxy
that calls it over a pipe. Whatever the student's cells did to their own process (patched checks,
input transformers, skipped cells) cannot reach these tests, so a cell that passes in nbgrader but
fails here is flagged. A cell whose test cannot be replayed this way is left to nbgrader's score.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import io
import json
import os
import pickle
import selectors
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np

from autograder import cells, sandbox

SERVER = Path(__file__).with_name("function_server.py")
# Assignments whose tests hand the student's code functions built by the course on PyTorch
# (notebook 02's checkers are graded on them); everywhere else the student's process is sealed:
# no PyTorch, no course references or checks (function_server.seal).
UNSEALED = frozenset({"02_gradcheck"})
# Test cells with one of these tags are not re-checked here, and nbgrader's score stands:
# "timed" cells measure speed (calls over a pipe would slow the student's function down);
# "kernel-only" cells use a PyTorch object of the student's in place (notebook 07's
# torch.autograd.Function, substituted into and trained), which cannot be driven over a pipe.
NOT_REPLAYED_TAGS = frozenset({"timed", "kernel-only"})
# How the student's process runs each kind of grading step (function_server's verbs).
RUN = {"given": "__given__", "student": "__exec__"}


@dataclass(frozen=True)
class Job:
    """One student's rebuilt notebooks and the assignment's source folder (hidden tests)."""

    student: str
    source: Path
    notebooks: dict[str, str]
    sandboxed: bool = True
    limits: sandbox.Limits = sandbox.Limits()
    timeout: float = 60


@dataclass
class Verdict:
    """Points each test cell earned in the re-check, and what could not be re-checked."""

    points: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)


def failed(job: Job, error: BaseException) -> Verdict:
    """A verification that could not run: no points are overruled, the student is flagged."""
    return Verdict(flags=[f"verification failed: {type(error).__name__}: {error}"[:300]])


class StudentProcess:
    """The student's cells in a sandboxed Python, restarted after a crash or a timeout.

    Cells run one at a time, as in the notebook: a cell that kills or hangs the process is
    dropped, and the others run again in a fresh process, as the resilient kernel does.
    """

    def __init__(self, steps: list[cells.Step], sandboxed: bool, limits: sandbox.Limits,
                 timeout: float, sealed: bool):
        self.steps, self.sealed = [s for s in steps if s.kind != "test"], sealed
        self.sandboxed, self.limits, self.timeout = sandboxed, limits, timeout
        self.dropped: set[int] = set()
        self.process: subprocess.Popen | None = None

    def _start(self) -> None:
        python = [sys.executable, "-I", "-c", SERVER.read_text(),
                  *(["--sealed"] if self.sealed else [])]
        argv = sandbox.python_command([], self.limits, python) if self.sandboxed else python
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL)
        for index, step in enumerate(self.steps):
            if index in self.dropped:
                continue
            try:
                if step.kind == "imports":
                    self._request(("__imports__", (cells.without_magics(step.code),), {}))
                else:
                    self._request((RUN[step.kind], (step.code,), {}))
            except StudentError:
                self.dropped.add(index)
                return self._start()

    def _request(self, message: tuple) -> dict:
        """Send a call and wait for its reply, answering the callbacks it makes meanwhile."""
        name, args, kwargs = message
        callbacks: list[Callable] = []
        body = _pickled((name, _with_markers(args, callbacks),
                         {k: _with_markers(v, callbacks) for k, v in kwargs.items()}))
        try:
            self._send(body)
            reader = _Reader(self.process.stdout, self.timeout)
            while True:
                reply = json.loads(reader.read(struct.unpack(">I", reader.read(4))[0]))
                if "callback" not in reply:
                    return reply
                self._send(_pickled(_answer(callbacks, reply)))
        except (BrokenPipeError, EOFError, TimeoutError, ValueError, TypeError,
                KeyError) as error:
            self.stop()
            raise StudentError(f"the student's process died or hung ({error})") from None

    def _send(self, body: bytes) -> None:
        self.process.stdin.write(struct.pack(">I", len(body)) + body)
        self.process.stdin.flush()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def call(self, name: str, args: tuple, kwargs: dict):
        if self.process is None:
            self._start()
        reply = self._request((name, args, kwargs))
        if "error" in reply:
            for name in reply.get("bases", [reply["error"]]):  # the student's own ShapeError
                kind = getattr(builtins, name, None)                # or NumPy's AxisError is
                if isinstance(kind, type) and issubclass(kind, Exception):  # still a ValueError
                    raise kind(reply["message"])                    # for the checks
            raise StudentError(f"{reply['error']}: {reply['message']}")
        for original, returned in zip(args, reply["args"], strict=True):
            if isinstance(original, np.ndarray) and returned is not None:
                value = decode(returned)
                if value.shape == original.shape:
                    original[...] = value  # in-place edits come back, as in the notebook
        return decode(reply["result"])


class NotReplayable(BaseException):  # noqa: N818 (a signal, not an error: checks let it pass)
    """A call that cannot be sent to the student's process; the test keeps nbgrader's score.

    A ``BaseException``, so that the checks' ``except Exception`` (which turns a student's crash
    into a failure) lets it through to :func:`_run_test`.
    """


def _pickled(value) -> bytes:
    try:
        return pickle.dumps(value)
    except (pickle.PicklingError, AttributeError, TypeError) as error:
        raise NotReplayable(f"cannot send {type(value).__name__}: {error}") from None


def _with_markers(value, callbacks: list[Callable]):
    """``value``, with each function that cannot travel by pickle (a closure over the truth, say)
    kept here and replaced by a marker: the student's process calls it back over the pipe."""
    if isinstance(value, (tuple, list)):
        return type(value)(_with_markers(v, callbacks) for v in value)
    if getattr(value, "student_function", False):  # it lives in that process: no callback
        raise NotReplayable("a student's function passed to another one")
    if callable(value) and not isinstance(value, type):
        try:
            pickle.dumps(value)
        except (pickle.PicklingError, AttributeError, TypeError):
            callbacks.append(value)
            return {"__callback__": len(callbacks) - 1}
    return value


def _answer(callbacks: list[Callable], request: dict) -> tuple:
    """Run a callback the student's process asked for, on decoded (never unpickled) values."""
    function = callbacks[request["callback"]]
    args = decode(request["args"])
    kwargs = {k: decode(v) for k, v in request["kwargs"].items()}
    try:
        return ("__return__", function(*args, **kwargs))
    except Exception as error:  # the student's code passed arguments the function refuses
        return ("__raise__", type(error).__name__, str(error)[:500])


class StudentError(Exception):
    """The student's function raised, crashed or timed out."""


class _Reader:
    """Blocking reads with a deadline, on a pipe."""

    def __init__(self, stream, timeout: float):
        self.stream, self.deadline = stream, time.monotonic() + timeout
        self.selector = selectors.DefaultSelector()
        self.selector.register(stream, selectors.EVENT_READ)

    def read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            left = self.deadline - time.monotonic()
            if left <= 0 or not self.selector.select(left):
                raise TimeoutError("no answer in time")
            chunk = os.read(self.stream.fileno(), n - len(data))
            if not chunk:
                raise EOFError("the process ended")
            data += chunk
        return data


def decode(value):
    """Inverse of ``function_server.encode``; arrays are loaded without pickle."""
    if "npy" in value:
        array = np.load(io.BytesIO(base64.b64decode(value["npy"])), allow_pickle=False)
        return array[()] if array.ndim == 0 else array
    if "seq" in value:
        items = [decode(v) for v in value["seq"]]
        return tuple(items) if value["tuple"] else items
    return value["value"]


def run(job: Job) -> Verdict:
    """Re-run every test cell of the source notebooks against the student's functions."""
    verdict = Verdict()
    for name, text in job.notebooks.items():
        student_nb = nbformat.reads(text, as_version=4)
        source_nb = nbformat.read(job.source / name, as_version=4)
        imports = [cells.without_magics(c.source) for c in source_nb.cells
                   if c.cell_type == "code" and cells.is_import_cell(c.source)]
        steps = cells.grading_steps(student_nb)
        student = StudentProcess(steps, job.sandboxed, job.limits, job.timeout,
                                 sealed=job.source.name not in UNSEALED)
        try:
            names = graded_names(source_nb) | {
                name for s in steps if s.kind == "student" for name in cells.defined_names(s.code)}
            namespace: dict = {}
            for code in imports:
                exec(compile(code, "<imports>", "exec"), namespace)  # noqa: S102 (trusted)
            for function in names:
                namespace[function] = _proxy(student, function)
            for cell in source_nb.cells:
                meta = cell.metadata.get("nbgrader", {})
                replayable = not NOT_REPLAYED_TAGS & set(cell.metadata.get("tags", []))
                if meta.get("grade") and cell.cell_type == "code" and replayable:
                    points, reason = _run_test(cell.source, namespace, meta.get("points", 0))
                    verdict.points[meta["grade_id"]] = points
                    if reason:
                        verdict.reasons[meta["grade_id"]] = reason
        finally:
            student.stop()
    return verdict


def graded_names(source_nb: nbformat.NotebookNode) -> set[str]:
    """The functions and classes the source notebook's solution cells define."""
    return {name for c in source_nb.cells if cells.nbgrader_meta(c).get("solution")
            and c.cell_type == "code" for name in cells.defined_names(c.source)}


def _proxy(student: StudentProcess, name: str):
    def call(*args, **kwargs):
        try:
            return student.call(name, args, kwargs)
        except StudentError as error:
            raise RuntimeError(str(error)) from None

    call.__name__ = name
    call.student_function = True
    return call


def _run_test(code: str, namespace: dict, points: float) -> tuple[float, str]:
    """The points a test cell earns here, and why it failed (empty if it passed)."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(code, "<test>", "exec"), dict(namespace))  # noqa: S102 (trusted)
    except NotReplayable:
        return float(points), ""  # nbgrader's score stands
    except Exception as error:
        return 0.0, " ".join(f"{type(error).__name__}: {error}".split())[:200]
    return float(points), ""
