"""The grading sandbox: a Jupyter kernel inside bubblewrap, with resource limits and no network.

The kernel sees the system folders and Python read-only, a private ``/tmp`` and ``/dev/shm`` and
the working folders it is given (writable): not ``source/``, not the gradebook, not other
students' work, no home folder; everything else, ``/`` and ``/dev`` included, is read-only. It
has no network, its own process tree (killed with it), a minimal environment (nothing of the
grader's: :func:`kernel_environment`), and limits on address space, CPU time, file size, POSIX
message queues (none) and process count (the last one is not enforced for root).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import course
from autograder.grade.sandbox import seccomp
from course.cases import SEED_VARIABLE

KERNEL_NAME = "course-sandbox"
# The whole environment of a sandboxed process: a private home and configuration under /tmp...
SANDBOX_ENV = {"HOME": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib", "IPYTHONDIR": "/tmp/ipython",
               "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
               "LANG": "C.UTF-8"}
# ...and, from the grader's, only what tunes the numerical libraries.
PASSED_THROUGH = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                  "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
SECCOMP_FD = 9


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one grading kernel."""

    memory_bytes: int = 3 * 1024**3
    cpu_seconds: int = 600
    file_bytes: int = 64 * 1024**2
    processes: int = 256
    tmp_bytes: int = 512 * 1024**2  # the sandbox's /tmp (in memory)
    shm_bytes: int = 256 * 1024**2  # and its /dev/shm


def bwrap_path() -> str:
    """The bubblewrap program, or a clear error saying how to get it."""
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed: install it (Debian/Ubuntu: apt-get install "
            "bubblewrap) or pass --unsandboxed to grade without a sandbox (unsafe).")
    return path


SYSTEM_FOLDERS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64")


def _system_mounts() -> list[str]:
    """Read-only system folders; on merged-/usr systems /bin, /lib ... are symlinks into /usr."""
    argv: list[str] = []
    for folder in SYSTEM_FOLDERS:
        path = Path(folder)
        if path.is_symlink():
            argv += ["--symlink", str(path.readlink()), folder]
        elif path.is_dir():
            argv += ["--ro-bind", folder, folder]
    return argv


def python_folders() -> list[Path]:
    """What the kernel needs to run Python: the interpreter, the environment, the helpers."""
    folders = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
               Path(course.__file__).resolve().parent}
    return sorted(f for f in folders if not f.is_relative_to(Path("/usr")))


def kernel_environment(student: str = "") -> dict[str, str]:
    """The whole environment of a grading kernel: :data:`SANDBOX_ENV`, the numerical libraries'
    settings, and, when the instructor set ``COURSE_GRADING_SEED``, a seed derived from it and
    the student (one-way: a student who prints it learns nothing of the instructor's seed, and
    nothing that draws another student's cases)."""
    env = dict(SANDBOX_ENV)
    env |= {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    seed = os.environ.get(SEED_VARIABLE, "").strip()
    if seed:
        env[SEED_VARIABLE] = hashlib.sha256(f"{seed}\0{student}".encode()).hexdigest()
    return env


def python_command(workdirs: list[Path], limits: Limits, python: list[str],
                   env: dict[str, str] | None = None, read_only: tuple[str, ...] = (),
                   hidden: tuple[Path, ...] = (), as_init: bool = False) -> list[str]:
    """``python`` (an argv) run in the sandbox; ``workdirs`` are bound writable at their paths,
    ``read_only`` files or folders read-only at theirs, and ``hidden`` files or folders are
    replaced by empty ones; ``env`` is its whole environment (default
    :func:`kernel_environment` without a seed). ``as_init``: ``python`` is the sandbox's pid 1
    (no other process of the sandbox can signal, trace or read it).

    Nothing is visible but the system folders, Python and the helpers (read-only) and these:
    no home folder, no course folder, no other student's files. ``/``, ``/dev`` and ``/proc`` are
    read-only (no host setting can be written through ``/proc/sys``, no process's memory through
    ``/proc/<pid>/mem``); ``/tmp`` and ``/dev/shm`` are the sandbox's own, of bounded size.
    The system calls of :mod:`autograder.grade.sandbox.seccomp` are refused.
    """
    argv = [bwrap_path(), "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            *(["--as-pid-1"] if as_init else []), *_system_mounts(),
            "--dev", "/dev", "--perms", "1777", "--size", str(limits.shm_bytes),
            "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
            "--proc", "/proc", "--remount-ro", "/proc",
            "--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    for folder in python_folders():
        argv += ["--ro-bind", str(folder), str(folder)]
    for path in read_only:
        argv += ["--ro-bind", path, path]
    for path in hidden:
        argv += ["--tmpfs", str(path)] if path.is_dir() else ["--ro-bind", "/dev/null", str(path)]
    for folder in workdirs:
        argv += ["--bind", str(folder), str(folder)]
    argv += ["--remount-ro", "/", "--chdir", "/tmp", "--clearenv"]
    for name, value in (kernel_environment() if env is None else env).items():
        argv += ["--setenv", name, value]
    argv += [
        "prlimit", f"--as={limits.memory_bytes}", f"--cpu={limits.cpu_seconds}",
        f"--fsize={limits.file_bytes}", f"--nproc={limits.processes}", "--msgqueue=0",
        "--", *python]
    rules = seccomp.filter_file()
    if rules is None:
        return argv
    # bubblewrap reads the system-call filter from a file descriptor: a shell opens it
    return ["/bin/sh", "-c", f'exec "$@" {SECCOMP_FD}<"$0"', str(rules), argv[0],
            "--seccomp", str(SECCOMP_FD), *argv[1:]]


def kernel_command(workdirs: list[Path], limits: Limits, log: Path,
                   env: dict[str, str]) -> list[str]:
    """The argv of a sandboxed IPython kernel, for a kernelspec; its own stderr goes to ``log``.
    Its connection file is bound read-only: the kernel cannot replace what the grader reads."""
    kernel = python_command(workdirs, limits, [sys.executable, "-m", "ipykernel_launcher",
                                               "-f", "{connection_file}"], env,
                            read_only=("{connection_file}",))
    return ["/bin/sh", "-c", 'exec "$@" 2>>"$0"', str(log), *kernel]


def install_kernelspec(jupyter_dir: Path, workdirs: list[Path], limits: Limits,
                       env: dict[str, str], provisioner: str | None = None) -> str:
    """Write the sandbox kernelspec under ``jupyter_dir/kernels``; return its name.

    ``env`` is the kernel's whole environment. With a ``provisioner`` (see
    :mod:`autograder.grade.sandbox.zygote`), kernels come from it; the argv, a kernel of its own
    sandbox, is what jupyter_client would run without it.
    """
    folder = jupyter_dir / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"argv": kernel_command(workdirs, limits, jupyter_dir / "kernel.log", env),
            "env": env, "display_name": "Python 3 (grading sandbox)", "language": "python",
            "interrupt_mode": "message"}
    if provisioner:
        spec["metadata"] = {"kernel_provisioner": {"provisioner_name": provisioner}}
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return KERNEL_NAME
