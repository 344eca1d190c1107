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
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np

from autograder import cells
from autograder.grade.sandbox import sandbox
from autograder.grade.verify import function_server

SERVER = Path(__file__).with_name("function_server.py")
# Assignments whose tests hand the student's code functions built by the course on PyTorch
# (notebook 02's checkers are graded on them); everywhere else the student's process is sealed:
# no PyTorch, no course references or checks (function_server.seal).
UNSEALED = frozenset({"02_gradcheck"})
# Test cells with this tag use a PyTorch object of the student's in place (notebook 07's
# torch.autograd.Function, with stand-ins and spies put under the names of its NumPy functions,
# then trained with counting pass-throughs there): they are re-checked against a second student
# process where PyTorch is allowed, which runs that object on arrays the tests send and binds the
# stand-ins as callbacks (AutogradHost in function_server); a pass-through calls the student's own
# function back in that process, while its callback waits. "timed" cells (notebook 06's speed)
# are re-checked like the others: the ratio to the course's loop, timed here, holds with the
# pipe's cost.
TORCH_OBJECT_TAG = "kernel-only"
# Timed checks (06's speed, 07's training) run slower here, over the pipe, than in the kernel: a
# re-check that fails only on time (the check raised TooSlow) overrules nothing, and is flagged.
TOO_SLOW = "TooSlow:"
NUMBER_KINDS, MAX_ELEMENTS = "biufc", 10**8  # what an array from the student's process may be
MESSAGE_CHARS = 1000  # of a failed check's message, kept for the feedback page
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
    budget: float = 300  # seconds for the whole re-check of one student


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
        self.deadline = float("inf")  # of the whole re-check (see OverBudget)
        self.bound: list[Callable] = []  # functions the tests put in the student's namespace
        self.dropped: set[int] = set()
        self.process: subprocess.Popen | None = None

    def _start(self) -> None:
        python = [sys.executable, "-I", "-c", SERVER.read_text(),
                  *(["--sealed"] if self.sealed else [])]
        hidden = sealed_paths() if self.sealed else answer_paths()
        argv = sandbox.python_command([], self.limits, python, hidden=hidden) \
            if self.sandboxed else python
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
        body = _pickled((name, _with_markers(args, callbacks, self.bound),
                         {k: _with_markers(v, callbacks, self.bound) for k, v in kwargs.items()}))
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise OverBudget("the re-check ran out of time")
        try:
            self._send(body)
            reader = _Reader(self.process.stdout, min(self.timeout, left))
            while True:
                reply = json.loads(reader.read(struct.unpack(">I", reader.read(4))[0]))
                if "callback" not in reply:
                    return reply
                self._send(_pickled(_answer(callbacks, self.bound, reply)))
        except Exception as error:  # died, hung, or sent what the protocol does not allow
            self.stop()
            if isinstance(error, TimeoutError) and left < self.timeout:
                raise OverBudget("the re-check ran out of time") from None
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
        try:
            error, message = (reply["error"], str(reply["message"])) if "error" in reply \
                else (None, "")
            bases = [str(b) for b in reply.get("bases", [error])] if error else []
            returned = [] if error else [decode(r) if r is not None else None
                                         for r in reply["args"]]
            result = None if error else decode(reply["result"])
            if not error and len(returned) != len(args):
                raise ValueError("a reply for other arguments")
        except Exception as unreadable:  # a reply the protocol does not allow: out of step
            self.stop()
            raise StudentError(f"the student's process sent an unreadable reply "
                               f"({type(unreadable).__name__})") from None
        for base in bases:  # the student's own ShapeError or NumPy's AxisError is still a
            kind = getattr(builtins, base, None)  # ValueError for the checks
            if isinstance(kind, type) and issubclass(kind, Exception):
                raise kind(message)
        if error:
            raise StudentError(f"{error}: {message}")
        for original, value in zip(args, returned, strict=True):
            if isinstance(original, np.ndarray) and isinstance(value, np.ndarray) and \
                    value.shape == original.shape:
                original[...] = value  # in-place edits come back, as in the notebook
        return result


def sealed_paths() -> tuple[Path, ...]:
    """What a sealed student process must not read at all: PyTorch's package and the course's
    modules other than the open ones (the seal blocks their import; hiding the files also stops
    a solution that reopens them, ``sys.modules.pop`` or ``exec(open(...).read())``)."""
    import importlib.util
    import pkgutil

    import course

    torch = importlib.util.find_spec("torch")
    folders = [Path(p) for p in (torch.submodule_search_locations or [])] if torch else []
    modules = [Path(course.__path__[0]) / f"{m.name}.py" for m in pkgutil.iter_modules(
        course.__path__) if m.name not in function_server.OPEN_COURSE_MODULES]
    cache = Path(course.__path__[0]) / "__pycache__"  # compiled copies of the same modules
    return tuple(folders + modules + ([cache] if cache.is_dir() else []))


def answer_paths() -> tuple[Path, ...]:
    """The course's working answers (function_server.ANSWER_MODULES), hidden in every re-check."""
    import course

    folder = Path(course.__path__[0])
    return tuple(folder / f"{name}.py" for name in function_server.ANSWER_MODULES
                 if (folder / f"{name}.py").exists())


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


class Bound:
    """A function a test puts in the student's namespace (a stand-in, a spy): it always stays
    here, and the student's code calls it back, during any later call, until it is restored."""

    def __init__(self, function: Callable):
        self.function = function


def _with_markers(value, callbacks: list[Callable], bound: list[Callable]):
    """``value``, with each function that cannot travel by pickle (a closure over the truth, say)
    kept here and replaced by a marker: the student's process calls it back over the pipe."""
    if isinstance(value, (tuple, list)):
        return type(value)(_with_markers(v, callbacks, bound) for v in value)
    if isinstance(value, Bound):
        if _module_function(value.function):
            return value.function  # a pure function of the course: it runs there, called fast
        bound.append(value.function)
        return {"__callback__": f"bound-{len(bound) - 1}"}
    if getattr(value, "student_function", False):  # it lives in that process: no callback
        raise NotReplayable("a student's function passed to another one")
    if callable(value) and not isinstance(value, type):
        try:
            pickle.dumps(value)
        except (pickle.PicklingError, AttributeError, TypeError):
            callbacks.append(value)
            return {"__callback__": len(callbacks) - 1}
    return value


def _module_function(function) -> bool:
    """A plain function of an importable module, without state (pickled by its name): a
    stand-in of the course, unlike a spy (a method that records its calls here)."""
    return isinstance(function, types.FunctionType) and function.__closure__ is None and \
        "<" not in function.__qualname__ and function.__module__.startswith("course.")


def _answer(callbacks: list[Callable], bound: list[Callable], request: dict) -> tuple:
    """Run a callback the student's process asked for, on decoded (never unpickled) values."""
    key = request["callback"]
    function = bound[int(key.split("-")[1])] if isinstance(key, str) else callbacks[key]
    args = decode(request["args"])
    kwargs = {k: decode(v) for k, v in request["kwargs"].items()}
    try:
        return ("__return__", function(*args, **kwargs))
    except Exception as error:  # the student's code passed arguments the function refuses
        return ("__raise__", type(error).__name__, str(error)[:500])


class OverBudget(NotReplayable):
    """The student's whole re-check took longer than its budget: the rest keeps nbgrader's
    scores, and the student is flagged (code that is slow only here is a sign of tampering)."""


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
    """Inverse of ``function_server.encode``; arrays are loaded without pickle, and only arrays
    of numbers of a bounded size are accepted (a forged header could describe anything)."""
    if "npy" in value:
        array = np.load(io.BytesIO(base64.b64decode(value["npy"])), allow_pickle=False)
        if array.dtype.kind not in NUMBER_KINDS or array.dtype.fields is not None or \
                array.dtype.itemsize == 0 or array.size > MAX_ELEMENTS:
            raise ValueError(f"not an array of numbers: {array.dtype}, {array.size} elements")
        return array[()] if array.ndim == 0 else array
    if "seq" in value:
        items = [decode(v) for v in value["seq"]]
        return tuple(items) if value["tuple"] else items
    return value["value"]


@contextlib.contextmanager
def _kernel_seed(student: str):
    """The seed this student's kernel drew its hidden cases with (see
    :func:`sandbox.kernel_environment`), for the tests run here."""
    derived = sandbox.kernel_environment(student).get(sandbox.SEED_VARIABLE)
    saved = os.environ.get(sandbox.SEED_VARIABLE)
    if derived is not None:
        os.environ[sandbox.SEED_VARIABLE] = derived
    try:
        yield
    finally:
        if saved is not None:
            os.environ[sandbox.SEED_VARIABLE] = saved


def run(job: Job) -> Verdict:
    """Re-run every test cell of the source notebooks against the student's functions."""
    if not job.sandboxed:  # an unsandboxed kernel has the grader's environment, seed and all
        return _run(job)
    with _kernel_seed(job.student):
        return _run(job)


def _run(job: Job) -> Verdict:
    verdict = Verdict()
    deadline = time.monotonic() + job.budget
    for name, text in job.notebooks.items():
        student_nb = nbformat.reads(text, as_version=4)
        source_nb = nbformat.read(job.source / name, as_version=4)
        imports = [cells.without_magics(c.source) for c in source_nb.cells
                   if c.cell_type == "code" and cells.is_import_cell(c.source)]
        steps = cells.grading_steps(student_nb)
        names = graded_names(source_nb) | {
            name for s in steps if s.kind == "student" for name in cells.defined_names(s.code)}
        processes = {sealed: StudentProcess(steps, job.sandboxed, job.limits, job.timeout,
                                            sealed=sealed)
                     for sealed in (job.source.name not in UNSEALED, False)}
        for process in processes.values():
            process.deadline = deadline
        try:
            trusted: dict = {}
            for code in imports:
                exec(compile(code, "<imports>", "exec"), trusted)  # noqa: S102 (trusted)
            for cell in source_nb.cells:
                meta = cell.metadata.get("nbgrader", {})
                if not (meta.get("grade") and cell.cell_type == "code"):
                    continue
                if time.monotonic() > deadline:
                    break
                torch_object = TORCH_OBJECT_TAG in cell.metadata.get("tags", [])
                student = processes[False] if torch_object else processes[
                    job.source.name not in UNSEALED]
                for other in processes.values():  # never two at once: no channel between them
                    if other is not student:
                        other.stop()
                namespace = _namespace(trusted, student, names, torch_object)
                outcome = _run_test(cell.source, namespace, meta.get("points", 0))
                if outcome is None:
                    continue  # not replayable: nbgrader's score stands
                if outcome[1].startswith(TOO_SLOW):
                    verdict.flags.append(f"{meta['grade_id']}: too slow in the re-check (timed "
                                         "over its pipe), so not fully re-checked there: "
                                         "nbgrader's score stands")
                    continue
                verdict.points[meta["grade_id"]], reason = outcome
                if reason:
                    verdict.reasons[meta["grade_id"]] = reason
        finally:
            for process in processes.values():
                process.stop()
    if time.monotonic() > deadline:
        verdict.flags.append(f"the re-check took over its budget of {job.budget:g} s: the cells "
                             "it did not finish keep nbgrader's scores (code that is slow only "
                             "when re-checked is a sign of tampering)")
    return verdict


def _namespace(trusted: dict, student: StudentProcess, names: set[str],
               torch_object: bool) -> dict:
    """A test cell's globals: the trusted imports and a proxy for each of the student's names
    (for a PyTorch-object cell, names the test substitutes are bound in the student's process,
    and a class's ``apply`` runs there)."""
    proxies = {name: _proxy(student, name) for name in names}
    if not torch_object:
        return {**trusted, **proxies}
    for name, proxy in proxies.items():
        proxy.apply = _remote_autograd(student, name).apply
    return _StudentNamespace(student, {**trusted, **proxies})


class _StudentNamespace(dict):
    """Globals whose changes reach the student's namespace: a test that puts a stand-in under a
    name (``namespace[name] = spy``) binds it there as a callback, and putting the student's
    own function back (or removing the name) restores theirs."""

    def __init__(self, student: StudentProcess, items: dict):
        super().__init__(items)
        self.student = student

    def __setitem__(self, name, value):
        if getattr(value, "student_function", False):
            self.student.call("__restore__", (name,), {})
        elif callable(value):
            self.student.call("__bind__", (name, Bound(value)), {})
        super().__setitem__(name, value)

    def update(self, *others, **items):
        for name, value in dict(*others, **items).items():
            self[name] = value

    def pop(self, name, *default):
        self.student.call("__restore__", (name,), {})
        return super().pop(name, *default)


def _remote_autograd(student: StudentProcess, name: str):
    """A local ``torch.autograd.Function`` whose forward and backward run the student's class
    ``name`` in their process: arrays go there, arrays come back."""
    import itertools
    import weakref

    import torch

    handles, released = itertools.count(), []

    class Remote(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *inputs):
            ctx.handle = next(handles)
            weakref.finalize(ctx, released.append, ctx.handle)  # that graph can go there too
            arrays = [i.detach().numpy() if isinstance(i, torch.Tensor) else i for i in inputs]
            freed = released.copy()
            released.clear()
            output = student.call("__autograd_forward__", (
                name, ctx.handle, arrays, [bool(n) for n in ctx.needs_input_grad], freed), {})
            return torch.from_numpy(np.array(output))

        @staticmethod
        def backward(ctx, dout):
            grads = student.call("__autograd_backward__",
                                 (ctx.handle, dout.detach().numpy()), {})
            return tuple(None if g is None else torch.from_numpy(np.array(g)) for g in grads)

    Remote.__name__ = Remote.__qualname__ = name
    return Remote


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


def _run_test(code: str, namespace: dict, points: float) -> tuple[float, str] | None:
    """The points a test cell earns here (run in ``namespace``, its own), and why it failed
    (empty if it passed); None if it cannot be replayed here (nbgrader's score stands)."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(code, "<test>", "exec"), namespace)  # noqa: S102 (trusted)
    except NotReplayable:
        return None
    except Exception as error:
        return 0.0, " ".join(f"{type(error).__name__}: {error}".split())[:MESSAGE_CHARS]
    return float(points), ""
