"""Fast sandboxed kernels: one warm zygote per grading process, one forked kernel per student.

``zygote_server.py`` runs in the sandbox, imports the kernel's modules once and forks a
fresh kernel for each request. Here is the grader's side: :class:`Zygote` starts and talks to it,
and :class:`ZygoteProvisioner`, a ``jupyter_client`` kernel provisioner named in the sandbox's
kernelspec, hands nbclient such a kernel where it would otherwise start a new process. The
zygote's sandbox sees one writable folder, :attr:`Zygote.root`: each task keeps there only its
kernel's sockets and log, which the grader never reads or writes through. Every exchange with the
zygote has a deadline: a zygote that a kernel stopped, or that cannot prove its sandbox clean,
is replaced, and that kernel's cell is charged.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from jupyter_client.provisioning import LocalProvisioner

from autograder.grade.sandbox import sandbox

SERVER = Path(__file__).with_name("zygote_server.py")
PROVISIONER = "course-zygote"
READY_TIMEOUT = 120.0
REPLY_TIMEOUT = 15.0  # any other answer (a sweep of the sandbox included) takes well under 1 s
# A forked kernel works in the sandbox's own /tmp (emptied before every kernel), never in a
# folder of the grader's.
KERNEL_CWD = "/tmp"


class ZygoteDied(RuntimeError):
    """The zygote stopped answering (a student's kernel may have killed it)."""


class Zygote:
    """The sandboxed zygote of this process, restarted when it dies."""

    def __init__(self, limits: sandbox.Limits):
        self.limits = limits
        self.root = Path(tempfile.mkdtemp(prefix="zygote-"))
        self.lock = threading.Lock()
        self.process: subprocess.Popen | None = None
        atexit.register(self.close)

    def _start(self) -> None:
        python = [sys.executable, "-I", "-c", SERVER.read_text()]
        argv = sandbox.python_command([self.root], self.limits, python, as_init=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=log, cwd=self.root)
        self._read(READY_TIMEOUT)  # the ready message, once the imports are done

    @property
    def log(self) -> Path:
        """The zygote's own stderr, beside (not inside) the folder its kernels see."""
        return self.root.with_suffix(".log")

    def _read(self, timeout: float = REPLY_TIMEOUT) -> dict:
        """One reply, within ``timeout`` seconds (a stopped or hung zygote is a dead one)."""
        deadline = time.monotonic() + timeout
        header = self._read_exactly(4, deadline)
        reply = json.loads(self._read_exactly(struct.unpack(">I", header)[0], deadline))
        if "unclean" in reply:  # the sweep could not prove the sandbox empty: start afresh
            raise ZygoteDied(f"the kernel zygote could not clean its sandbox ({reply['unclean']})")
        return reply

    def _read_exactly(self, size: int, deadline: float) -> bytes:
        data = b""
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while len(data) < size:
                left = deadline - time.monotonic()
                chunk = b""
                if left > 0 and selector.select(left):
                    chunk = os.read(self.process.stdout.fileno(), size - len(data))
                if not chunk:
                    lines = self.log.read_text(errors="replace").strip().splitlines()
                    why = lines[-1][:200] if lines else ("no answer in time" if left <= 0
                                                         else "no output")
                    raise ZygoteDied(f"the kernel zygote stopped ({why})")
                data += chunk
        return data

    def request(self, message: dict) -> dict:
        """Send one request. A dead zygote is restarted for a ``start``; for the other requests
        its kernel died with it."""
        starting = "start" in message
        with self.lock:
            for _ in range(2 if starting else 1):
                if self.process is None or self.process.poll() is not None:
                    if not starting:
                        break
                    self.stop()
                    self._start()
                body = json.dumps(message).encode()
                try:
                    self.process.stdin.write(struct.pack(">I", len(body)) + body)
                    self.process.stdin.flush()
                    return self._read()
                except (BrokenPipeError, ZygoteDied):
                    self.stop()
        if starting:
            raise ZygoteDied("the kernel zygote could not start a kernel")
        return {"exit": -signal.SIGKILL}

    def clear_root(self) -> None:
        """Remove whatever an earlier task (or its kernel) left in the shared folder. ``rm``
        on this file system only, never following a link, with a deadline: a tree too deep or too
        large to remove in time makes a new zygote with a new folder (the old one is left)."""
        entries = [str(entry) for entry in self.root.iterdir()]
        try:
            if entries:
                subprocess.run(["rm", "-rf", "--one-file-system", "--", *entries], check=True,
                               timeout=REPLY_TIMEOUT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        except (subprocess.SubprocessError, OSError):
            self.stop()
            self.root = Path(tempfile.mkdtemp(prefix="zygote-"))

    def close(self) -> None:
        """Stop the zygote for good and remove its shared folder."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        self.log.unlink(missing_ok=True)

    def stop(self) -> None:
        """Stop the zygote (its kernels die with it); the next ``start`` makes a new one."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            for stream in (self.process.stdin, self.process.stdout):
                stream.close()
            self.process = None


_zygote: Zygote | None = None


def for_limits(limits: sandbox.Limits) -> Zygote:
    """This process's zygote, started (or restarted) with these limits."""
    global _zygote
    if _zygote is None or _zygote.limits != limits:
        if _zygote is not None:
            _zygote.close()
        _zygote = Zygote(limits)
    return _zygote


class ForkedKernel:
    """A kernel forked by the zygote, with the part of ``subprocess.Popen`` jupyter_client uses.

    Its pid is the zygote's (inside the sandbox's PID namespace), so signals go through the
    zygote, never ``os.kill`` here.
    """

    def __init__(self, zygote: Zygote, pid: int):
        self.zygote, self.pid, self.returncode = zygote, pid, None
        self.stdin = self.stdout = self.stderr = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.zygote.request({"poll": self.pid}).get("exit")
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """The exit code, once the kernel has exited (jupyter_client calls it after ``poll``)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("forked kernel", timeout)
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if signum == signal.SIGKILL:
            self.kill()
        elif self.returncode is None:
            self.zygote.request({"signal": [self.pid, int(signum)]})

    def terminate(self) -> None:
        self.kill()

    def kill(self) -> None:
        if self.returncode is None:
            self.returncode = self.zygote.request({"kill": self.pid}).get("exit", -9)


class ZygoteProvisioner(LocalProvisioner):
    """Kernels forked by this process's zygote instead of started from the kernelspec's argv."""

    async def launch_kernel(self, cmd: list[str], **kwargs):
        """A kernel from the zygote; if it cannot give one, a cold kernel in its own sandbox
        (the kernelspec's argv), so that grading goes on, only slower."""
        try:
            return self._fork(cmd, **kwargs)
        except ZygoteDied as error:
            self.log.warning("%s: starting a cold sandboxed kernel instead", error)
            return await super().launch_kernel(cmd, **kwargs)

    def _fork(self, cmd: list[str], **kwargs):
        """Ask the zygote for a kernel. It gets the kernelspec's environment only (nothing of the
        grader's), the connection information as data (the grader's connection file stays out
        of its reach), the kernel's extra arguments (``--InteractiveShell.xmode=Minimal``), and
        the sockets' folder for its log."""
        if _zygote is None:
            raise ZygoteDied("no kernel zygote in this process (call zygote.for_limits first)")
        with open(self.parent.connection_file) as file:
            connection = json.load(file)
        sockets = os.path.dirname(self.parent.ip)
        extra = cmd[cmd.index("ipykernel_launcher") + 3:] if "ipykernel_launcher" in cmd else []
        reply = _zygote.request({"start": {
            "connection": connection, "cwd": KERNEL_CWD, "env": dict(self.kernel_spec.env),
            "log": os.path.join(sockets, "kernel.log"), "arguments": extra}})
        self.process = ForkedKernel(_zygote, reply["pid"])
        self.pid, self.pgid, self.cwd = None, None, KERNEL_CWD
        return self.connection_info
