"""Grading on a real Dask cluster on loopback: same results as the local pool, and a worker
killed mid-run costs nobody their grade."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder import cli, course_root
from autograder.demo import demo_class

REPO = course_root.REPO_ROOT
SOURCE = REPO / "source" / demo_class.ASSIGNMENT / demo_class.NOTEBOOK
RELEASE = REPO / "release" / demo_class.ASSIGNMENT / demo_class.NOTEBOOK
STUDENTS = ["solution", "buggy", "blank", "os-exit", "broken", "patch-checks"]
DASK = str(Path(sys.executable).parent / "dask")

pytestmark = [
    pytest.mark.skipif(shutil.which("bwrap") is None and os.environ.get("CI") != "true",
                       reason="bubblewrap is not installed (CI installs it; see .ci/run)"),
    pytest.mark.xdist_group("dask-cluster"),
]


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and two one-thread workers, started for real on 127.0.0.1."""
    address_file = tmp_path / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0",
                                  "--no-dashboard", "--scheduler-file", str(address_file)],
                                 **quiet)
    workers = [subprocess.Popen([DASK, "worker", "--scheduler-file", str(address_file),
                                 "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1",
                                 "--name", f"w{i}"], cwd=tmp_path, **quiet) for i in range(2)]
    try:
        address = _wait_for_workers(address_file, 2)
        yield address, workers
    finally:
        for process in [*workers, scheduler]:
            process.terminate()
        for process in [*workers, scheduler]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_for_workers(address_file: Path, count: int) -> str:
    from distributed import Client

    deadline = time.monotonic() + 120
    while not address_file.exists():
        assert time.monotonic() < deadline, "the Dask scheduler did not start"
        time.sleep(0.2)
    address = json.loads(address_file.read_text())["address"]
    with Client(address, timeout="30s") as client:
        client.wait_for_workers(count, timeout=120)
    return address


def _grade(args: list[str], submissions: Path, out: Path, root: Path = REPO) -> dict[str, str]:
    assert cli.main(["--root", str(root), "grade", demo_class.ASSIGNMENT, str(submissions),
                     "--out", str(out), "--cell-timeout", "20", *args]) == 0
    return {name: (out / name).read_text() for name in ("summary.csv", "cells.csv")}


def test_cluster_grades_like_the_local_pool(cluster, tmp_path):
    address, _ = cluster
    demo_class.build(tmp_path / "class", SOURCE, RELEASE, STUDENTS)
    local = _grade(["--workers", "2"], tmp_path / "class", tmp_path / "local")
    remote = _grade(["--scheduler", address], tmp_path / "class", tmp_path / "remote")
    assert remote == local


def test_a_worker_killed_mid_run_costs_no_grade(cluster, tmp_path):
    address, workers = cluster
    demo_class.build(tmp_path / "class", SOURCE, RELEASE, ["solution", "buggy", "blank"])
    expected = _grade(["--workers", "1", "--no-verify"], tmp_path / "class", tmp_path / "local")
    course = tmp_path / "course"
    shutil.copytree(REPO / "source", course / "source")
    shutil.copy(REPO / course_root.CONFIG_FILE, course)

    def kill_a_busy_worker() -> None:
        from distributed import Client

        with Client(address, timeout="30s") as client:
            deadline = time.monotonic() + 120
            while not any(client.processing().values()) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.0)  # well inside a task: kernels take seconds to start
        os.kill(workers[0].pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    remote = _grade(["--scheduler", address, "--no-verify", "--record"], tmp_path / "class",
                    tmp_path / "remote", root=course)
    killer.join()
    assert workers[0].poll() is not None, "the worker was not killed"
    assert remote == expected
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "conv2d-backprop") as gradebook:
        submissions = [s for s in gradebook.students for _ in s.submissions]
        assert sorted(s.id for s in submissions) == ["blank", "buggy", "solution"]


def test_bad_settings_stop_before_grading(tmp_path, capsys):
    submissions = tmp_path / "class"
    submissions.mkdir()
    port = 1  # nothing listens there
    assert cli.main(["grade", demo_class.ASSIGNMENT, str(submissions), "--out",
                     str(tmp_path / "out"), "--scheduler", f"tcp://127.0.0.1:{port}"]) == 2
    assert capsys.readouterr().out.startswith("autograder: cannot reach the Dask scheduler")
    assert cli.main(["grade", demo_class.ASSIGNMENT, str(submissions), "--out",
                     str(tmp_path / "out"), "--record", "--db-url",
                     "postgresql+psycopg2://nobody@127.0.0.1:1/none"]) == 2
    assert capsys.readouterr().out.startswith("autograder: cannot open the gradebook")
    assert not (tmp_path / "out").exists()


def test_a_coordinator_killed_halfway_resumes_with_the_rest(cluster, tmp_path):
    """The coordinator (the `grade` command) is killed by pid once half the class is graded on
    the cluster: every journaled result survives whole, the rerun grades only the others, and
    the CSVs equal an undisturbed run's."""
    address, _ = cluster
    variants = ["solution", "buggy", "blank"]
    demo_class.build(tmp_path / "variants", SOURCE, RELEASE, variants)
    for copy in range(3):
        for name in variants:
            shutil.copytree(tmp_path / "variants" / name, tmp_path / "class" / f"{name}-{copy}")
    expected = _grade(["--workers", "2", "--no-verify"], tmp_path / "class", tmp_path / "calm")
    out = tmp_path / "killed"
    entries = out / "journal" / demo_class.ASSIGNMENT
    command = [sys.executable, "-m", "autograder", "grade", demo_class.ASSIGNMENT,
               str(tmp_path / "class"), "--out", str(out), "--cell-timeout", "20",
               "--no-verify", "--scheduler", address]
    coordinator = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(list(entries.glob("*.json"))) < 4 and coordinator.poll() is None:
        assert time.monotonic() < deadline, "the coordinator graded nobody in 5 minutes"
        time.sleep(0.05)
    os.kill(coordinator.pid, signal.SIGKILL)
    coordinator.wait(timeout=30)
    assert coordinator.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    survivors = {p.name: p.stat().st_mtime_ns for p in entries.glob("*.json")}
    assert 4 <= len(survivors) < 9 and not (out / "summary.csv").exists()

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"{len(survivors)} of 9 students kept their result" in rerun.stdout
    assert {p.name: p.stat().st_mtime_ns for p in entries.glob("*.json")
            if p.name in survivors} == survivors  # not graded again
    assert len(list(entries.glob("*.json"))) == 9
    assert {name: (out / name).read_text() for name in ("summary.csv", "cells.csv")} == expected
