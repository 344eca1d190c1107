"""Runs inside the verification sandbox: executes a student's cells, then answers calls.

Protocol on stdin/stdout, each message a 4-byte big-endian length and a body. Each request
(pickled, from the trusted verifier) is a call ``(name, args, kwargs)``; the name ``__exec__``
runs a cell of the student's code as Jupyter does (IPython's shell: magics, shell escapes, a cell
that raises keeps what it defined before), ``__imports__`` binds a setup cell's imports lazily (a
module is loaded when first used: most solutions never touch PyTorch, so the re-check need not
pay for it; a module the seal forbids fails when used, not when bound), ``__given__`` runs the
definitions of a given cell one statement at a time (one that needs a sealed module costs only
itself).
Replies are JSON with arrays as ``.npy`` bytes in base64, so that the verifier never unpickles
anything a student's code produced.

A function the verifier passes as an argument (a loss to differentiate, say) arrives as a marker
``{"__callback__": k}`` and becomes a proxy here: calling it sends ``{"callback": k, "args": ...}``
(JSON) and waits for the verifier's pickled ``("__return__", value)`` or ``("__raise__", kind,
message)``. The student's code gets the values, never the verifier's function or its closure.
While it waits, the verifier's function may call the student's back (a pass-through stand-in that
counts the calls to the function it stands in for): such a call arrives as an ordinary request and
is answered first.
"""

import ast
import base64
import importlib
import importlib.util
import io
import json
import os
import pickle
import struct
import sys
import tempfile
import types

import numpy as np


def _read(stream):
    header = stream.read(4)
    if len(header) < 4:
        raise EOFError
    return stream.read(struct.unpack(">I", header)[0])


def _write(stream, body: bytes) -> None:
    stream.write(struct.pack(">I", len(body)) + body)
    stream.flush()


def encode(value):
    """A JSON-able form of arrays, numbers, strings, None and tuples or lists of them."""
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(value), allow_pickle=False)
        return {"npy": base64.b64encode(buffer.getvalue()).decode()}
    if isinstance(value, (tuple, list)):
        return {"seq": [encode(v) for v in value], "tuple": isinstance(value, tuple)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"value": value}
    if hasattr(value, "__array__"):  # a tensor, a matrix: what the checks' np.asarray sees
        return encode(np.asarray(value))
    raise TypeError(f"cannot return a {type(value).__name__}")


class LazyModule(types.ModuleType):
    """A module imported on first attribute access."""

    def __getattr__(self, attribute):
        return getattr(importlib.import_module(self.__name__), attribute)


def lazy_imports(code, namespace) -> None:
    """Bind the names an import cell defines, loading modules only when they are used."""
    for node in ast.parse(code).body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    namespace[alias.asname] = LazyModule(alias.name)
                else:
                    top = alias.name.split(".")[0]
                    namespace[top] = _bound(lambda top=top: importlib.import_module(top), top)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                namespace[alias.asname or alias.name] = _bound(
                    lambda module=node.module, name=alias.name: _from_import(module, name), full)


def _from_import(module: str, name: str):
    full = f"{module}.{name}"
    try:
        spec = importlib.util.find_spec(full)
    except (ImportError, ValueError):  # not a package, or a sealed one
        spec = None
    if spec is not None:
        return LazyModule(full)
    return getattr(importlib.import_module(module), name)


def _bound(load, name: str):
    """What ``load`` gives, or for a module the seal forbids, one that fails when used."""
    try:
        return load()
    except (ImportError, AttributeError):
        return LazyModule(name)


OPEN_COURSE_MODULES = ("cases", "data", "plots")
# Working answers the course gives students who did not finish notebook 02 (for their own
# self-checks): sealed in every re-check, notebook 02's unsealed one included.
ANSWER_MODULES = ("gradient_tools", "self_check")


def seal() -> None:
    """Make PyTorch and the course's references, checks and worked-example helpers
    unimportable: graded functions are the student's own NumPy, so a solution that borrows
    them fails the re-check and is flagged. The case tables, data and plotting stay open."""
    import pkgutil

    import course

    sys.modules["torch"] = None
    for module in pkgutil.iter_modules(course.__path__):
        if module.name not in OPEN_COURSE_MODULES:
            sys.modules[f"course.{module.name}"] = None


def seal_answers() -> None:
    """Make the course's working answers (:data:`ANSWER_MODULES`) unimportable."""
    for name in ANSWER_MODULES:
        sys.modules[f"course.{name}"] = None


class AutogradHost:
    """A student's ``torch.autograd.Function`` driven from the verifier, for the tests that use
    it in place (notebook 07's wrapper and training). The verifier sends arrays; here they become
    tensors, go through ``apply`` and, later, ``backward``; only arrays go back. Names the tests
    substitute (stand-ins, spies and pass-throughs for the student's NumPy functions) are bound in
    the student's namespace as callbacks, so every call to them is seen and answered by the
    verifier, and restored afterwards; meanwhile the verifier's calls of such a name still reach
    the student's own function (:meth:`own`)."""

    def __init__(self, namespace: dict):
        self.namespace, self.graphs, self.saved = namespace, {}, {}

    def forward(self, name, handle, inputs, needs_grad, released=()):
        """``name.apply`` on the inputs; the graph is kept for backward until the verifier says
        it has released it (``released``, the handles of graphs it freed since)."""
        import torch

        for old in released:
            self.graphs.pop(old, None)
        leaves = [torch.from_numpy(np.array(a)).requires_grad_(bool(n))
                  if isinstance(a, np.ndarray) else a
                  for a, n in zip(inputs, needs_grad, strict=True)]
        output = self.namespace[name].apply(*leaves)
        if not isinstance(output, torch.Tensor):
            raise TypeError(f"{name}.apply returned {type(output).__name__}, expected a tensor")
        self.graphs[handle] = (leaves, output)
        return output.detach().numpy()

    def backward(self, handle, dout):
        import torch

        leaves, output = self.graphs[handle]
        wanted = [t for t in leaves if isinstance(t, torch.Tensor) and t.requires_grad]
        grads = iter(torch.autograd.grad(output, wanted, torch.from_numpy(np.array(dout)),
                                         retain_graph=True, allow_unused=True))
        return [_grad_array(next(grads)) if isinstance(t, torch.Tensor) and t.requires_grad
                else None for t in leaves]

    def bind(self, name, value):
        self.saved.setdefault(name, self.namespace.get(name, _MISSING))
        self.namespace[name] = value

    def restore(self, name):
        original = self.saved.pop(name, _MISSING)
        if original is _MISSING:
            self.namespace.pop(name, None)
        else:
            self.namespace[name] = original

    def own(self, name):
        """What the student defined under ``name``, even while a stand-in is bound there."""
        return self.saved[name] if name in self.saved else self.namespace.get(name, _MISSING)


_MISSING = object()


def _grad_array(grad):
    return None if grad is None else grad.detach().numpy()


def explained(error: BaseException) -> str:
    """The error's message; for a module the seal forbids, why."""
    if isinstance(error, ImportError) and "None in sys.modules" in str(error):
        return (f"{error.name} cannot be used by a graded function: the grader runs your "
                "functions without PyTorch and the course's references and checks")
    return str(error)


class CallbackError(Exception):
    """A function of the verifier raised (its type and message come with it)."""


def with_callbacks(value, channel_in, channel_out, serve):
    """``value`` with each callback marker (at the top level, or in a tuple or list) replaced
    by a proxy that calls the verifier's function over the pipe; the verifier's requests that
    arrive before its answer are answered by ``serve`` (request -> reply)."""
    if isinstance(value, dict) and set(value) == {"__callback__"}:
        key = value["__callback__"]

        def callback(*args, **kwargs):
            message = {"callback": key, "args": encode(args),
                       "kwargs": {k: encode(v) for k, v in kwargs.items()}}
            _write(channel_out, json.dumps(message).encode())
            answer = pickle.loads(_read(channel_in))
            while answer[0] not in ("__return__", "__raise__"):  # a call made while answering
                _write(channel_out, serve(answer))
                answer = pickle.loads(_read(channel_in))
            if answer[0] == "__raise__":
                raise CallbackError(f"{answer[1]}: {answer[2]}")
            return answer[1]

        return callback
    if isinstance(value, (tuple, list)):
        return type(value)(with_callbacks(v, channel_in, channel_out, serve) for v in value)
    return value


def _shell():
    """An IPython shell (no kernel) that runs cells as the notebook's kernel does: magics,
    ``get_ipython``, ``display``, and ``%matplotlib inline`` (a plain shell refuses GUIs)."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class KernelLikeShell(InteractiveShell):
        def enable_gui(self, gui=None):
            """Figures are drawn by the inline backend: there is no event loop to start."""

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    config.InteractiveShell.colors = "nocolor"
    return KernelLikeShell.instance(config=config)


def main() -> None:
    channel_in = sys.stdin.buffer
    channel_out = os.fdopen(os.dup(1), "wb")
    sys.stdin = open(os.devnull)  # noqa: SIM115 (input() must not read the protocol's pipe)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # the student's prints go nowhere
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    # As in the kernel: a writable working folder, importable (%%writefile, then import it).
    os.chdir(tempfile.mkdtemp(prefix="student-"))
    sys.path.insert(0, "")
    shell = _shell()
    namespace = shell.user_ns
    if "--sealed" in sys.argv:
        seal()
    seal_answers()
    cell_errors = []

    def run_cell(code):
        result = shell.run_cell(code, store_history=True)
        error = result.error_before_exec or result.error_in_exec
        if error is not None:  # a broken cell costs the functions it defines, nothing else
            cell_errors.append(f"{type(error).__name__}: {explained(error)}")

    def run_given(code):
        for node in ast.parse(code).body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                lazy_imports(ast.unparse(node), namespace)
            else:
                shell.run_cell(ast.unparse(node), store_history=True)

    host = AutogradHost(namespace)
    autograd_calls = {"__autograd_forward__": host.forward, "__autograd_backward__": host.backward,
                      "__bind__": host.bind, "__restore__": host.restore}

    def lookup(name):
        value = host.own(name)
        if value is not _MISSING:
            return value
        failed = f" (a solution cell failed: {cell_errors[-1]})" if cell_errors else ""
        raise NameError(f"{name} is not defined{failed}")

    def serve(message) -> bytes:
        """The reply to one request of the verifier's."""
        name, args, kwargs = message
        args = with_callbacks(args, channel_in, channel_out, serve)
        kwargs = {k: with_callbacks(v, channel_in, channel_out, serve) for k, v in kwargs.items()}
        try:
            if name == "__imports__":
                function = lambda code: lazy_imports(code, namespace)  # noqa: E731
            elif name in autograd_calls:
                function = autograd_calls[name]
            elif name == "__given__":
                function = run_given
            else:
                function = run_cell if name == "__exec__" else lookup(name)
            result = function(*args, **kwargs)
            reply = {"result": encode(result), "args": [encode(a) if isinstance(a, np.ndarray)
                                                        else None for a in args]}
        except BaseException as error:  # reported to the verifier as the call's exception
            reply = {"error": type(error).__name__, "message": explained(error)[:500],
                     "bases": [kind.__name__ for kind in type(error).__mro__]}
        return json.dumps(reply).encode()

    while True:
        try:
            message = pickle.loads(_read(channel_in))
        except EOFError:
            return
        _write(channel_out, serve(message))


if __name__ == "__main__":
    main()
