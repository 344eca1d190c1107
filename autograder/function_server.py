"""Runs inside the verification sandbox: executes a student's cells, then answers calls.

Protocol on stdin/stdout, each message a 4-byte big-endian length and a body. Each request
(pickled, from the trusted verifier) is a call ``(name, args, kwargs)``; the name ``__exec__``
runs a cell of code, ``__imports__`` binds a setup cell's imports lazily (a module is loaded
when first used: most solutions never touch PyTorch, so the re-check need not pay for it).
Replies are JSON with arrays as ``.npy`` bytes in base64, so that the verifier never unpickles
anything a student's code produced.

A function the verifier passes as an argument (a loss to differentiate, say) arrives as a marker
``{"__callback__": k}`` and becomes a proxy here: calling it sends ``{"callback": k, "args": ...}``
(JSON) and waits for the verifier's pickled ``("__return__", value)`` or ``("__raise__", kind,
message)``. The student's code gets the values, never the verifier's function or its closure.
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
    raise TypeError(f"cannot return a {type(value).__name__}")


class LazyModule(types.ModuleType):
    """A module imported on first attribute access."""

    def __getattr__(self, attribute):
        return getattr(importlib.import_module(self.__name__), attribute)


def _is_module(name: str) -> bool:
    """Whether ``name`` is a module (``from a.b import c``: c may be one, or an attribute)."""
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # the parent is a module, not a package: c is an attribute
        return False


def lazy_imports(code, namespace) -> None:
    """Bind the names an import cell defines, loading modules only when they are used."""
    for node in ast.parse(code).body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    namespace[alias.asname] = LazyModule(alias.name)
                else:
                    top = alias.name.split(".")[0]
                    namespace[top] = importlib.import_module(top)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if _is_module(full):
                    namespace[alias.asname or alias.name] = LazyModule(full)
                else:
                    module = importlib.import_module(node.module)
                    namespace[alias.asname or alias.name] = getattr(module, alias.name)


OPEN_COURSE_MODULES = ("cases", "data", "plots")


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


class AutogradHost:
    """A student's ``torch.autograd.Function`` driven from the verifier, for the tests that use
    it in place (notebook 07's wrapper and training). The verifier sends arrays; here they become
    tensors, go through ``apply`` and, later, ``backward``; only arrays go back. Names the tests
    substitute (stand-ins and spies for the student's NumPy functions) are bound in the
    student's namespace as callbacks, so every call to them is seen and answered by the
    verifier, and restored afterwards."""

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


_MISSING = object()


def _grad_array(grad):
    return None if grad is None else grad.detach().numpy()


class CallbackError(Exception):
    """A function of the verifier raised (its type and message come with it)."""


def with_callbacks(value, channel_in, channel_out):
    """``value`` with each callback marker (at the top level, or in a tuple or list) replaced
    by a proxy that calls the verifier's function over the pipe."""
    if isinstance(value, dict) and set(value) == {"__callback__"}:
        key = value["__callback__"]

        def callback(*args, **kwargs):
            message = {"callback": key, "args": encode(args),
                       "kwargs": {k: encode(v) for k, v in kwargs.items()}}
            _write(channel_out, json.dumps(message).encode())
            answer = pickle.loads(_read(channel_in))
            if answer[0] == "__raise__":
                raise CallbackError(f"{answer[1]}: {answer[2]}")
            return answer[1]

        return callback
    if isinstance(value, (tuple, list)):
        return type(value)(with_callbacks(v, channel_in, channel_out) for v in value)
    return value


def main() -> None:
    channel_in = sys.stdin.buffer
    channel_out = os.fdopen(os.dup(1), "wb")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # the student's prints go nowhere
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    # Cells run in an IPython shell (no kernel), as in the notebook: magics and get_ipython work.
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    namespace = shell.user_ns
    if "--sealed" in sys.argv:
        seal()
    cell_errors = []

    def run_cell(code):
        result = shell.run_cell(code, store_history=False, silent=True)
        error = result.error_before_exec or result.error_in_exec
        if error is not None:  # a broken cell costs the functions it defines, nothing else
            cell_errors.append(f"{type(error).__name__}: {error}")

    host = AutogradHost(namespace)
    autograd_calls = {"__autograd_forward__": host.forward, "__autograd_backward__": host.backward,
                      "__bind__": host.bind, "__restore__": host.restore}

    def lookup(name):
        if name in namespace:
            return namespace[name]
        failed = f" (a solution cell failed: {cell_errors[-1]})" if cell_errors else ""
        raise NameError(f"{name} is not defined{failed}")

    while True:
        try:
            name, args, kwargs = pickle.loads(_read(channel_in))
        except EOFError:
            return
        args = with_callbacks(args, channel_in, channel_out)
        kwargs = {k: with_callbacks(v, channel_in, channel_out) for k, v in kwargs.items()}
        try:
            if name == "__imports__":
                function = lambda code: lazy_imports(code, namespace)  # noqa: E731
            elif name in autograd_calls:
                function = autograd_calls[name]
            else:
                function = run_cell if name == "__exec__" else lookup(name)
            result = function(*args, **kwargs)
            reply = {"result": encode(result), "args": [encode(a) if isinstance(a, np.ndarray)
                                                        else None for a in args]}
        except BaseException as error:  # reported to the verifier as the call's exception
            reply = {"error": type(error).__name__, "message": str(error)[:500]}
        _write(channel_out, json.dumps(reply).encode())


if __name__ == "__main__":
    main()
