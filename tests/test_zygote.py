"""The warm kernel zygote: one student's kernel leaves nothing behind for the next one.

Students are graded one after another in this process, so they share one zygote, as they do on a
grading worker. The attacks are in the solution cells of otherwise correct submissions: a cell
that raises loses its points, so "full marks" below means "the attack found nothing to use".
"""

from __future__ import annotations

import os
import shutil

import nbformat
import pytest

from autograder import course_root
from autograder.author import submissions
from autograder.demo import demo_class
from autograder.grade.run import worker
from autograder.grade.sandbox import sandbox, zygote

pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None and os.environ.get("CI") != "true",
    reason="bubblewrap is not installed (CI installs it; see .ci/run)")

SOURCE = course_root.notebooks(course_root.REPO_ROOT, demo_class.ASSIGNMENT)[0]
RELEASE = course_root.notebooks(course_root.REPO_ROOT, demo_class.ASSIGNMENT, "release")[0]

# Leaves a startup file that would patch the checks in later kernels, files in /tmp and
# /dev/shm and a process in the background; and fails (loses its points) if it can read the
# zygote's memory.
PLANT = """
import os, pathlib, subprocess
startup = pathlib.Path("/tmp/ipython/profile_default/startup")
startup.mkdir(parents=True, exist_ok=True)
(startup / "00-pass.py").write_text("import course.checks\\ncourse.checks.compare = print\\n")
pathlib.Path("/tmp/left-behind").write_text("for the next student")
pathlib.Path("/dev/shm/left-behind").write_text("for the next student")
subprocess.Popen(["sleep", "600"], start_new_session=True)
try:
    open(f"/proc/{os.getppid()}/mem", "rb").close()
except PermissionError:
    pass
else:
    raise RuntimeError("the zygote's memory is readable from a kernel")
"""
# Fails (loses its points) if anything of an earlier kernel is still there (a process, a file
# in /tmp, /dev/shm or /dev, a System V IPC object), if a kernelspec (the command of the next
# kernel) is within reach, or if the kernel's environment holds anything of the grader's.
PROBE = """
import glob, os
others = [p for p in os.listdir("/proc")
          if p.isdigit() and int(p) not in (1, os.getpid(), os.getppid())]
left = [p for p in ("/tmp/left-behind", "/dev/shm/left-behind", "/tmp/racer-alive",
                   "/tmp/ipython/profile_default/startup/00-pass.py") if os.path.exists(p)]
left += [f"{kind}: {rows[1:]}" for kind in ("shm", "msg", "sem")
         if len(rows := open(f"/proc/sysvipc/{kind}").read().splitlines()) > 1]
left += sorted(set(os.listdir("/dev")) - {"core", "fd", "full", "null", "ptmx", "pts", "random",
                                          "shm", "stderr", "stdin", "stdout", "tty", "urandom",
                                          "zero"})
if others or left:
    raise RuntimeError(f"left behind by an earlier kernel: processes {others}, {left}")
specs = [p for p in glob.glob("/tmp/**/kernels/*/kernel.json", recursive=True)
         if os.access(os.path.dirname(p), os.W_OK)]
if specs:
    raise RuntimeError(f"a kernel can rewrite the kernelspec: {specs}")
extra = set(os.environ) - {"HOME", "MPLCONFIGDIR", "IPYTHONDIR", "PATH", "LANG", "PWD",
                           "COURSE_GRADING_SEED", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                           "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                           "JPY_SESSION_NAME", "PYDEVD_DISABLE_FILE_VALIDATION", "MPLBACKEND",
                           "CLICOLOR", "CLICOLOR_FORCE", "FORCE_COLOR", "PAGER", "GIT_PAGER",
                           "TERM", "PYDEVD_USE_FRAME_EVAL"}  # the last ones: IPython's own
if extra or "instructor" in os.environ.get("COURSE_GRADING_SEED", ""):
    raise RuntimeError(f"the grader's environment reached the kernel: {sorted(extra)}")
"""
# Fails unless the kernel is a child of the zygote (whose command line is its own source).
FORKED = """
import os
with open(f"/proc/{os.getppid()}/cmdline", "rb") as parent:
    if b"The kernel zygote" not in parent.read():
        raise RuntimeError("this kernel was not forked by the zygote")
"""
KILL_ZYGOTE = """
import os, signal
assert os.getppid() == 1
for signum in (signal.SIGKILL, signal.SIGSTOP, signal.SIGTERM, signal.SIGINT):
    os.kill(1, signum)
"""


@pytest.fixture(scope="module")
def material(tmp_path_factory) -> worker.Material:
    return worker.prepare(demo_class.ASSIGNMENT, tmp_path_factory.mktemp("material"))


def grade(material: worker.Material, student: str, prefix: str) -> worker.Result:
    """The solution with ``prefix`` at the top of its forward cell, graded in the sandbox."""
    code = submissions.solution_cells(nbformat.read(SOURCE, as_version=4))
    code[demo_class.FORWARD_SOLUTION] = prefix + code[demo_class.FORWARD_SOLUTION]
    release = nbformat.read(RELEASE, as_version=4)
    text = nbformat.writes(submissions.fill(release, code)) + "\n"
    return worker.run(worker.Task(student, material, {RELEASE.name: text}, cell_timeout=30))


def full_marks(result: worker.Result) -> bool:
    return result.grade.status == "graded" and result.grade.failed_cells() == []


def test_a_kernel_leaves_nothing_for_the_next_student(material):
    planter = grade(material, "planter", PLANT)
    assert full_marks(planter), planter.grade.cells
    probe = grade(material, "probe", PROBE)
    assert full_marks(probe), {g: c.message for g, c in probe.grade.cells.items()}


def test_a_kernel_cannot_kill_the_zygote(material):
    killer = grade(material, "killer", KILL_ZYGOTE)
    assert full_marks(killer), killer.grade.cells  # the zygote is the sandbox's pid 1
    probe = grade(material, "probe-after-killer", PROBE)
    assert full_marks(probe), {g: c.message for g, c in probe.grade.cells.items()}


def test_kernels_are_forked_by_the_zygote(material):
    first, second = (grade(material, f"warm-{n}", FORKED) for n in (1, 2))
    assert full_marks(first) and full_marks(second), first.grade.cells


def test_without_a_zygote_kernels_start_cold_and_grading_goes_on(material, monkeypatch,
                                                                  tmp_path, caplog):
    broken = tmp_path / "zygote_server.py"
    broken.write_text("import sys\nprint('cannot start', file=sys.stderr)\nsys.exit(3)\n")
    monkeypatch.setattr(zygote, "SERVER", broken)
    zygote.for_limits(sandbox.Limits()).stop()  # the next kernel needs a new zygote
    result = grade(material, "cold", "")
    assert full_marks(result), result.grade.cells
    assert "the kernel zygote stopped (cannot start): starting a cold sandboxed kernel" in \
        caplog.text


# Attacks on the next student and on the host, each in the solution cell of an otherwise correct
# submission. ``{probe}`` is a file of the host outside every folder of the task: the grader must
# never write through a link to it. Each attacker is followed, in the same process and so on the
# same zygote, by an honest student who must keep full marks (and who probes for leftovers).
CONNECTION = ("import json, os\n"
              "sockets = os.path.dirname(json.load(open('/dev/shm/.kernel-connection.json'))"
              "['ip'])\n")
ATTACKS = {
    # A process that keeps forking (its pid changes all the time) and appends to every file it
    # can reach in the folder shared with the grader, for a minute.
    "fork-racer": CONNECTION + """
import time
if os.fork() == 0:
    os.setsid()
    end = time.time() + 60
    while time.time() < end:
        if os.fork():
            os._exit(0)
        for folder, _, files in os.walk(os.path.dirname(sockets)):
            for name in files:
                try:
                    with open(os.path.join(folder, name), "a") as file:
                        file.write("tampered")
                except OSError:
                    pass
        with open("/tmp/racer-alive", "w") as file:
            file.write(str(os.getpid()))
""",
    # System V shared memory and a message queue left for the next kernel, a POSIX message
    # queue (refused by the limits), writes into /dev and / (read-only).
    "ipc-and-dev": """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
assert libc.shmget(4321, 4096, 0o1000 | 0o666) >= 0
assert libc.msgget(4322, 0o1000 | 0o666) >= 0
assert libc.mq_open(b"/left", 0o100 | 2, 0o600, None) == -1
for path in ("/dev/left-behind", "/left-behind", "/usr/left-behind"):
    try:
        open(path, "w").write("x")
    except OSError:
        pass
    else:
        raise RuntimeError(f"{path} is writable")
""",
    # Links and FIFOs, under every name the grader uses, in every folder the kernel can write,
    # pointing at a file of the host; the kernel's own sockets replaced by links.
    "links-and-fifos": CONNECTION + """
names = ["connection.json", "kernel.log", "01_forward.ipynb", "timestamp.txt", "gradebook.db",
         "kernel.json", "autograded", "feedback", "submitted", "source"]
for folder in {os.getcwd(), "/tmp", "/dev/shm", sockets, os.path.dirname(sockets)}:
    for name in names:
        target = os.path.join(folder, name)
        for attempt in (lambda: os.symlink("{probe}", target), lambda: os.mkfifo(target + ".fifo")):
            try:
                attempt()
            except OSError:
                pass
for name in os.listdir(sockets):
    if name.startswith("ipc"):
        os.replace(os.path.join(sockets, name), os.path.join(sockets, name + ".old"))
        os.symlink("{probe}", os.path.join(sockets, name))
""",
    # Changes the zygote's limits, priority and CPUs, which its next kernels would inherit.
    "zygote-limits": """
import os, resource
resource.prlimit(os.getppid(), resource.RLIMIT_FSIZE, (0, 0))
os.setpriority(os.PRIO_PROCESS, os.getppid(), 19)
""",
    # Writes a setting of the host kernel through /proc/sys, and a kernel's memory.
    "proc-writer": """
for path in ("/proc/sys/kernel/core_pattern", "/proc/sys/vm/drop_caches", "/proc/1/mem",
             "/proc/sysrq-trigger"):
    try:
        with open(path, "r+b") as file:
            file.write(file.read(1) or b"0")
    except OSError:
        continue
    raise RuntimeError(f"{path} is writable")
""",
    # Keyrings (shared with the host's root), ptrace of the zygote, new namespaces.
    "refused-calls": """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
calls = {"add_key": (248, b"user", b"left", b"for the next", 12, -4),
         "ptrace attach to pid 1": (101, 16, 1, 0, 0),
         "unshare a user namespace": (272, 0x10000000),
         "io_uring_setup": (425, 8, 0)}
for name, (number, *args) in calls.items():
    if libc.syscall(number, *args) >= 0:
        raise RuntimeError(f"{name} was allowed")
""",
    # A tree too deep for a recursive removal, in the folder shared with the grader; and the
    # sandbox's own /tmp filled past its size.
    "deep-tree-and-filler": CONNECTION + """
fd = os.open(os.path.dirname(sockets), os.O_RDONLY)
for _ in range(3000):
    os.mkdir("d", dir_fd=fd)
    fd = os.open("d", os.O_RDONLY, dir_fd=fd)
try:
    with open("/tmp/filler", "wb") as file:
        for _ in range(20):
            file.write(bytes(32 * 1024**2))
except OSError:
    pass
else:
    raise RuntimeError("the sandbox's /tmp took 640 MiB")
""",
    # Reads the instructor's environment.
    "env-reader": """
import os
if os.environ.get("INSTRUCTOR_SECRET"):
    raise RuntimeError("the grader's environment reached the kernel")
""",
}
# What each attack costs its author: nothing (each fails quietly).
LOSES: dict[str, list[str]] = {}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_an_attacker_reaches_neither_the_host_nor_the_next_student(material, attack, tmp_path,
                                                                   monkeypatch):
    probe = tmp_path / "host-file"
    probe.write_text("the instructor's")
    probe.chmod(0o600)
    before = probe.stat()
    monkeypatch.setenv("INSTRUCTOR_SECRET", "hunter2")
    monkeypatch.setenv("COURSE_GRADING_SEED", "instructor-seed")
    attacker = grade(material, f"attacker-{attack}", ATTACKS[attack].replace("{probe}",
                                                                             str(probe)))
    assert attacker.grade.status == "graded"
    assert sorted(attacker.grade.failed_cells()) == LOSES.get(attack, []), \
        {g: c.message for g, c in attacker.grade.cells.items()}
    victim = grade(material, f"after-{attack}", PROBE)
    assert full_marks(victim), {g: c.message for g, c in victim.grade.cells.items()}
    after = probe.stat()
    assert probe.read_text() == "the instructor's"
    assert (after.st_mode, after.st_mtime_ns, after.st_size) == \
        (before.st_mode, before.st_mtime_ns, before.st_size)
