"""Red-team attacks the sandbox defends, kept as regression tests.

Each attack is in the forward solution cell of an otherwise correct submission, graded in this
process (so on one zygote, as on a grading worker), and is followed by an honest student who must
keep full marks and find nothing left behind. A file of the host, outside every folder of the task,
must stay untouched. An attack that finds what it looks for raises, and so loses its cells.
"""

from __future__ import annotations

import os
import shutil

import nbformat
import pytest

from autograder.author import submissions
from autograder.demo import demo_class
from autograder.grade.run import worker
from tests.test_zygote import PROBE, RELEASE, SOURCE, full_marks, grade

pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None and os.environ.get("CI") != "true",
    reason="bubblewrap is not installed (CI installs it; see .ci/run)")

CONNECTION = ("import json, os\n"
              "sockets = os.path.dirname(json.load(open('/dev/shm/.kernel-connection.json'))"
              "['ip'])\n")
# The honest student's extra probe: no listening socket (TCP or abstract Unix) of an earlier
# kernel answers, and no trap is left in the folder the grader shares with the zygote.
LISTENERS = CONNECTION + """
import socket
for family, address in ((socket.AF_INET, ("127.0.0.1", 4444)), (socket.AF_UNIX, "\\0red-team")):
    with socket.socket(family) as client:
        try:
            client.connect(address)
        except OSError:
            continue
    raise RuntimeError(f"an earlier kernel's socket {address} answers")
shared = os.path.dirname(sockets)
strangers = [n for n in os.listdir(shared) if os.path.join(shared, n) != sockets]
if strangers:
    raise RuntimeError(f"left in the shared folder: {strangers}")
"""
ATTACKS = {
    # The zygote's memory, environment and file descriptors, through ptrace and /proc.
    "zygote-introspection": """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
zygote = os.getppid()
if libc.ptrace(16, zygote, None, None) == 0:  # PTRACE_ATTACH
    raise RuntimeError("the zygote can be traced")
class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]
buffer = ctypes.create_string_buffer(16)
local, remote = IoVec(ctypes.addressof(buffer), 16), IoVec(0x400000, 16)
if libc.process_vm_readv(zygote, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0) >= 0 \\
        or ctypes.get_errno() != 1:  # EPERM, not merely a bad address
    raise RuntimeError("the zygote's memory can be read")
for name in ("environ", "mem", "fd/0", "cwd/."):
    try:
        os.stat(f"/proc/{zygote}/{name}") if "/" in name else open(f"/proc/{zygote}/{name}", "rb")
    except PermissionError:
        continue
    raise RuntimeError(f"/proc/{zygote}/{name} is open to a kernel")
""",
    # Daemons that make themselves hard to kill (a subreaper, new sessions, blocked and ignored
    # signals, a fork chain) and hold listening sockets, a memfd and a watch on the shared folder.
    "stubborn-daemons": CONNECTION + """
import ctypes, signal, socket, time
libc = ctypes.CDLL(None)
def daemon():
    os.setsid()
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(number, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, set(signal.Signals) - {signal.SIGKILL, signal.SIGSTOP})
    listeners = [socket.create_server(("127.0.0.1", 4444)), socket.socket(socket.AF_UNIX)]
    listeners[1].bind("\\0red-team")
    listeners[1].listen()
    memory = os.memfd_create("red-team")
    os.write(memory, b"for the next student")
    watch = libc.inotify_init()
    libc.inotify_add_watch(watch, os.path.dirname(sockets).encode(), 0xFFF)
    for _ in range(3):
        if os.fork():
            break
        os.setsid()
    end = time.time() + 60
    while time.time() < end:
        for listener in listeners:
            listener.settimeout(0.05)
            try:
                listener.accept()[0].close()
            except OSError:
                pass
if os.fork() == 0:
    try:
        daemon()
    finally:
        os._exit(0)
time.sleep(1)
for family, address in ((socket.AF_INET, ("127.0.0.1", 4444)), (socket.AF_UNIX, "\\0red-team")):
    with socket.socket(family) as client:
        client.connect(address)  # the daemon is up (or this attack loses its cells)
""",
    # Traps in the folder the zygote shares with the grader, beside the kernel's own: links to a
    # host file and to the host's root, a FIFO, a Unix socket, a directory of links, names with
    # newlines and dashes, a set-uid copy of a file, a name the next kernel folder could take.
    "shared-folder-traps": CONNECTION + """
import socket, stat
shared = os.path.dirname(sockets)
def attempt(make):
    try:
        make()
    except OSError:
        pass
attempt(lambda: os.symlink("{probe}", os.path.join(shared, "kernel-next")))
attempt(lambda: os.symlink("/", os.path.join(shared, "root-link")))
attempt(lambda: os.mkfifo(os.path.join(shared, "fifo")))
attempt(lambda: socket.socket(socket.AF_UNIX).bind(os.path.join(shared, "socket")))
os.makedirs(os.path.join(shared, "dir\\nwith newline", "-rf"), exist_ok=True)
for name in ("probe-link", "..", "connection.json"):
    attempt(lambda: os.symlink("{probe}", os.path.join(shared, "dir\\nwith newline", "-rf",
                                                        name)))
with open(os.path.join(shared, "setuid"), "w") as file:
    file.write("#!/bin/sh\\n")
os.chmod(os.path.join(shared, "setuid"), 0o6777 | stat.S_IFREG)
os.chmod(sockets, 0)
assert os.path.islink(os.path.join(shared, "kernel-next"))
assert stat.S_ISFIFO(os.lstat(os.path.join(shared, "fifo")).st_mode)
assert os.lstat(os.path.join(shared, "setuid")).st_mode & 0o6000
""",
    # System V semaphores (and the other kinds) under many keys, a POSIX message queue, files
    # in /dev/shm named like POSIX semaphores and shared memory.
    "ipc-objects": """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
for key in range(9000, 9010):
    assert libc.semget(key, 4, 0o1000 | 0o666) >= 0
    assert libc.shmget(key, 4096, 0o1000 | 0o666) >= 0
    assert libc.msgget(key, 0o1000 | 0o666) >= 0
assert libc.mq_open(b"/red", 0o100 | 2, 0o600, None) == -1
for name in ("sem.red", "red-shm", ".hidden", "..."):
    with open(f"/dev/shm/{name}", "w") as file:
        file.write("for the next student")
""",
}


@pytest.fixture(scope="module")
def material(tmp_path_factory) -> worker.Material:
    return worker.prepare(demo_class.ASSIGNMENT, tmp_path_factory.mktemp("material"))


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_red_team_attack_reaches_neither_the_host_nor_the_next_student(material, attack,
                                                                          tmp_path):
    probe = tmp_path / "host-file"
    probe.write_text("the instructor's")
    probe.chmod(0o600)
    before = probe.stat()
    attacker = grade(material, f"red-{attack}", ATTACKS[attack].replace("{probe}", str(probe)))
    assert full_marks(attacker), {g: c.message for g, c in attacker.grade.cells.items()}
    victim = grade(material, f"after-red-{attack}", PROBE + LISTENERS)
    assert full_marks(victim), {g: c.message for g, c in victim.grade.cells.items()}
    after = probe.stat()
    assert probe.read_text() == "the instructor's"
    assert (after.st_mode, after.st_mtime_ns, after.st_size, after.st_nlink) == \
        (before.st_mode, before.st_mtime_ns, before.st_size, before.st_nlink)


# A wrong forward pass (zeros) that hides every failure from nbgrader's kernel: a custom
# exception handler that swallows all errors, and assertions compiled away by an AST transformer
# that empties every test cell's body.
SWALLOWER = """
import ast
def _swallow(shell, kind, value, traceback, tb_offset=None):
    return None
get_ipython().set_custom_exc((BaseException,), _swallow)
class _Nothing(ast.NodeTransformer):
    def visit_Module(self, node):
        return ast.Module(body=[ast.Pass()], type_ignores=[])
get_ipython().ast_transformers.append(_Nothing())
"""
WRONG_FORWARD = """
def conv2d_single_forward(x, w, b=0.0, stride=1, pad=0):
    return np.zeros((1, 1))
"""


def test_a_kernel_that_hides_its_failures_is_overruled_by_the_re_check(material):
    code = submissions.solution_cells(nbformat.read(SOURCE, as_version=4))
    code[demo_class.FORWARD_SOLUTION] = WRONG_FORWARD + SWALLOWER
    release = nbformat.read(RELEASE, as_version=4)
    text = nbformat.writes(submissions.fill(release, code)) + "\n"
    attacker = worker.run(worker.Task("red-swallower", material, {RELEASE.name: text},
                                      cell_timeout=30))
    assert attacker.grade.status == "graded"
    nbgrader_full = [g for g, c in attacker.grade.cells.items() if c.score == c.max_score]
    verified_zero = [g for g, p in attacker.verdict.points.items() if p == 0]
    assert set(demo_class.FORWARD_CELLS) <= set(nbgrader_full), "nbgrader is no longer fooled"
    assert set(demo_class.FORWARD_CELLS) <= set(verified_zero), attacker.verdict.points
    victim = grade(material, "after-red-swallower", PROBE)
    assert full_marks(victim), {g: c.message for g, c in victim.grade.cells.items()}
