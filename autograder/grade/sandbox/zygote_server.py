"""The kernel zygote: a sandboxed Python that imports the grading kernel's modules once, then forks
one fresh IPython kernel per request.

Run inside the sandbox as ``python -c <this file>`` (it imports nothing from ``autograder``). A
grading kernel spends most of its start importing PyTorch, NumPy, Matplotlib, IPython and the
course's checks; a fork of this process has them already, so a kernel is ready at once. The zygote
never runs a student's code: each kernel is a child that runs it, and before every new kernel (and
after every kill) the zygote sweeps the sandbox: it kills every other process until none is left
(``kill(-1)`` again and again, so a process that keeps forking cannot outrun it), removes the
System V IPC objects, and empties ``/tmp`` and ``/dev/shm`` (``/`` and ``/dev`` are read-only, and
POSIX message queues cannot be made). A sweep that cannot prove the sandbox empty answers
``{"unclean": why}``, and the grader replaces the whole sandbox. The zygote cannot be traced or
read by its children (not dumpable, and the sandbox drops all capabilities).

Requests come on the zygote's original stdin and replies go to its original stdout, one JSON
document each, prefixed by its length (4 bytes, big-endian):

* ``{"start": {"connection", "cwd", "env", "log", "arguments"}}`` -> ``{"pid": pid}``
* ``{"poll": pid}`` -> ``{"exit": code or null}``
* ``{"signal": [pid, signum]}`` -> ``{}``
* ``{"kill": pid}`` -> ``{"exit": code}``
"""

import ctypes
import importlib
import json
import os
import pkgutil
import shutil
import signal
import struct
import sys
import time

PRELOAD = ("numpy", "matplotlib", "matplotlib.pyplot", "matplotlib_inline.backend_inline",
           "torch", "IPython", "ipykernel.kernelapp", "ipykernel.ipkernel", "course")
SCRATCH = ("/tmp", "/dev/shm")
CONNECTION_FILE = "/dev/shm/.kernel-connection.json"
PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4
SWEEP_SECONDS = 5.0
IPC_RMID = 0
SYSV_IPC = (("shm", "shmctl"), ("msg", "msgctl"), ("sem", "semctl"))


SHIELDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
            signal.SIGUSR2, signal.SIGALRM)
STATE: dict = {}
REAPED: dict[int, int] = {}  # exit codes of children collected by reap()


def own_state() -> dict:
    """What a kernel could change of the zygote from outside and its next kernels would inherit:
    resource limits, priority, scheduling, CPUs, OOM score."""
    import resource

    limits = {name: resource.getrlimit(getattr(resource, name))
              for name in dir(resource) if name.startswith("RLIMIT_")}
    with open("/proc/self/oom_score_adj") as oom:
        return {"limits": limits, "nice": os.getpriority(os.PRIO_PROCESS, 0),
                "scheduler": os.sched_getscheduler(0), "cpus": sorted(os.sched_getaffinity(0)),
                "oom": oom.read().strip()}


class Unclean(Exception):
    """The sandbox still holds something of an earlier kernel."""


def preload() -> None:
    """Import what every grading kernel imports (and every course module)."""
    for name in PRELOAD:
        importlib.import_module(name)
    course = sys.modules["course"]
    for module in pkgutil.iter_modules(course.__path__):
        importlib.import_module(f"course.{module.name}")


def living_others() -> list[int]:
    """Processes of the sandbox other than its init (pid 1) and the zygote that are not dead."""
    me, alive = os.getpid(), []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in (1, me):
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    state = stat.read().rsplit(b")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue  # gone meanwhile
            if state not in (b"Z", b"X"):
                alive.append(int(entry))
    return alive


def reap(*_) -> None:
    """Collect every exited child (as pid 1, orphans are the zygote's too), keeping the exit
    codes for :func:`exit_code`; also the zygote's SIGCHLD handler."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        REAPED[pid] = os.waitstatus_to_exitcode(status)


def kill_others() -> None:
    """SIGKILL every process of the sandbox but its init and the zygote, until none is left.

    ``kill(-1)`` reaches every process of the PID namespace in one call, and a fork racing it
    fails; it is repeated until ``/proc`` shows no living process, within a deadline.
    """
    deadline = time.monotonic() + SWEEP_SECONDS
    while True:
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        reap()
        left = living_others()
        if not left:
            return
        if time.monotonic() > deadline:
            raise Unclean(f"processes {left[:5]} survived SIGKILL")
        time.sleep(0.01)


def remove_ipc_objects() -> None:
    """Remove every System V shared memory segment, message queue and semaphore set of the
    sandbox's IPC namespace (a kernel could leave one for the next)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for kind, control in SYSV_IPC:
        try:
            with open(f"/proc/sysvipc/{kind}") as table:
                ids = [int(line.split()[1]) for line in table.readlines()[1:] if line.strip()]
        except OSError:
            continue
        for ipc_id in ids:
            args = (ipc_id, 0, IPC_RMID, None) if kind == "sem" else (ipc_id, IPC_RMID, None)
            if getattr(libc, control)(*args) != 0:
                raise Unclean(f"System V {kind} {ipc_id} cannot be removed")


def sweep() -> None:
    """Leave the sandbox as the first kernel found it."""
    kill_others()
    if own_state() != STATE:
        raise Unclean("a kernel changed the zygote's limits, priority or CPUs")
    remove_ipc_objects()
    empty_scratch()


def empty_scratch() -> None:
    """Remove everything a kernel left in the sandbox's scratch folders (not the folders of
    the grader mounted there: they are on another file system)."""
    for folder in SCRATCH:
        if not os.path.isdir(folder):
            continue
        device = os.lstat(folder).st_dev
        for entry in os.listdir(folder):
            path = os.path.join(folder, entry)
            if os.lstat(path).st_dev != device:
                continue
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass


def become_kernel(request: dict, channels: tuple[int, int]) -> None:
    """In the forked child: a fresh session, the kernel's folder, environment, connection and
    output, then IPython's kernel (this never returns)."""
    try:
        # A kernel dies with the zygote (at once, not when the sandbox is torn down): a cell
        # that kills the zygote costs itself, like any cell that kills its kernel.
        libc = ctypes.CDLL(None)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # the zygote stays undumpable, not its kernels
        os.setsid()
        for signum in SHIELDED:  # a kernel has Python's own handlers
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in channels:
            os.close(fd)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        with open(CONNECTION_FILE, "w") as connection:
            json.dump(request["connection"], connection)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.closerange(3, 4096)
        sys.argv = ["ipykernel_launcher", "-f", CONNECTION_FILE, *request["arguments"]]
        sys.path.insert(0, "")  # as a kernel started from its folder: a module written there
        # (%%writefile helpers.py, then import helpers) is found
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
    finally:
        os._exit(0)


def send(pid: int, signum: int) -> None:
    """A signal to a kernel and the processes of its session (it may not have one yet)."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signum)
        except ProcessLookupError:
            pass


def exit_code(pid: int, block: bool) -> int | None:
    """The child's exit code (negative for a signal), or None while it runs."""
    try:
        done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
    except ChildProcessError:  # already collected by reap()
        return REAPED.pop(pid, -signal.SIGKILL)
    if done == 0:
        return None
    return os.waitstatus_to_exitcode(status)


def read_exactly(fd: int, size: int) -> bytes | None:
    """``size`` bytes from a pipe, or None at its end."""
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def serve(requests: int, replies: int) -> None:
    """Answer requests until the grader closes the pipe."""
    children: dict[int, int | None] = {}
    while True:
        header = read_exactly(requests, 4)
        body = read_exactly(requests, struct.unpack(">I", header)[0]) if header else None
        if body is None:
            return
        request, reply = json.loads(body), {}
        try:
            reply = answer(request, children, (requests, replies))
        except Unclean as error:
            reply = {"unclean": str(error)}
        data = json.dumps(reply).encode()
        os.write(replies, struct.pack(">I", len(data)) + data)


def answer(request: dict, children: dict[int, int | None], channels: tuple[int, int]) -> dict:
    """The reply to one request (see the module's docstring)."""
    if "start" in request:
        sweep()
        children.clear()
        REAPED.clear()
        pid = os.fork()
        if pid == 0:
            become_kernel(request["start"], channels)
        children[pid] = None
        return {"pid": pid}
    if "poll" in request:
        pid = request["poll"]
        if children.get(pid) is None:
            children[pid] = exit_code(pid, block=False)
        return {"exit": children[pid]}
    if "signal" in request:
        pid, signum = request["signal"]
        if pid in children and children[pid] is None:
            send(pid, signum)
        return {}
    pid = request["kill"]
    if pid in children and children[pid] is None:
        send(pid, signal.SIGKILL)
        children[pid] = exit_code(pid, block=True)
    sweep()
    return {"exit": children.get(pid, -signal.SIGKILL)}


def main() -> None:
    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    for signum in SHIELDED:  # as the sandbox's pid 1, only signals it handles reach it
        signal.signal(signum, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, reap)  # orphans are reparented to pid 1: collect them
    global STATE
    STATE = own_state()
    requests, replies = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(2, 1)  # whatever an import prints must not reach the replies
    preload()
    os.write(replies, struct.pack(">I", 2) + b"{}")  # ready
    serve(requests, replies)


main()
