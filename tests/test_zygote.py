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

from autograder import course_root, demo_class, sandbox, submissions, worker, zygote

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
# Fails (loses its points) if anything of an earlier kernel is still there, or if a kernelspec
# (the command of the next kernel) is within reach.
PROBE = """
import glob, os
others = [p for p in os.listdir("/proc")
          if p.isdigit() and int(p) not in (1, os.getpid(), os.getppid())]
left = [p for p in ("/tmp/left-behind", "/dev/shm/left-behind",
                   "/tmp/ipython/profile_default/startup/00-pass.py") if os.path.exists(p)]
if others or left:
    raise RuntimeError(f"left behind by an earlier kernel: processes {others}, files {left}")
specs = [p for p in glob.glob("/tmp/**/kernels/*/kernel.json", recursive=True)
         if os.access(os.path.dirname(p), os.W_OK)]
if specs:
    raise RuntimeError(f"a kernel can rewrite the kernelspec: {specs}")
"""
# Fails unless the kernel is a child of the zygote (whose command line is its own source).
FORKED = """
import os
with open(f"/proc/{os.getppid()}/cmdline", "rb") as parent:
    if b"The kernel zygote" not in parent.read():
        raise RuntimeError("this kernel was not forked by the zygote")
"""
KILL_ZYGOTE = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"


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


def test_killing_the_zygote_costs_only_that_cell(material):
    killer = grade(material, "killer", KILL_ZYGOTE)
    assert killer.grade.status == "graded"
    assert sorted(killer.grade.failed_cells()) == sorted(demo_class.FORWARD_CELLS)
    assert "KernelDied" in killer.autograded[RELEASE.name]
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
