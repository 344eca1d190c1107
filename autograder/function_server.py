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
                if importlib.util.find_spec(full) is not None:
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
