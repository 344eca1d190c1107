"""Benchmark: the local pool against a loopback Dask cluster, in one run.

A class of 24 submissions of notebook 01 is graded with every protection on by the local pool with
1 and 2 worker processes and by a Dask cluster (scheduler and 2 one-thread workers started here on
127.0.0.1). Reproduce with ``.venv/bin/python benchmarks/cluster.py``; it rewrites
``benchmarks/CLUSTER.md``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder import cli

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ASSIGNMENT, build_class, course_copy  # noqa: E402

HERE = Path(__file__).resolve().parent
COUNTS = {"solution": 12, "buggy": 6, "blank": 6}
DASK = str(Path(sys.executable).parent / "dask")


def timed_grade(submissions: Path, out: Path, *extra: str) -> float:
    start = time.perf_counter()
    assert cli.main(["grade", ASSIGNMENT, str(submissions), "--out", str(out), *extra]) == 0
    return time.perf_counter() - start


def start_cluster(folder: Path) -> tuple[str, list[subprocess.Popen]]:
    from distributed import Client

    address_file = folder / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0",
                                   "--no-dashboard", "--scheduler-file", str(address_file)],
                                  **quiet)]
    processes += [subprocess.Popen([DASK, "worker", "--scheduler-file", str(address_file),
                                    "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
                                   cwd=folder, **quiet) for _ in range(2)]
    while not address_file.exists():
        time.sleep(0.2)
    address = json.loads(address_file.read_text())["address"]
    with Client(address, timeout="30s") as client:
        client.wait_for_workers(2, timeout=120)
    return address, processes


def main() -> None:
    import run

    run.CLASS.clear()
    run.CLASS.update(COUNTS)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        course_copy(tmp / "course")
        students = build_class(tmp / "course", tmp / "class")
        one = timed_grade(tmp / "class", tmp / "one", "--workers", "1")
        two = timed_grade(tmp / "class", tmp / "two", "--workers", "2")
        address, processes = start_cluster(tmp)
        try:
            dask = timed_grade(tmp / "class", tmp / "dask", "--scheduler", address)
        finally:
            for process in processes:
                process.terminate()
        same = all((tmp / "two" / f).read_bytes() == (tmp / "dask" / f).read_bytes()
                   for f in ("summary.csv", "cells.csv"))
    n = len(students)
    lines = [
        "# Local pool and Dask cluster", "",
        f"{n} submissions of {ASSIGNMENT}, every protection on, graded in one run on "
        f"{os.cpu_count()} cores ({time.strftime('%Y-%m-%d')}); produced by "
        "`benchmarks/cluster.py`.", "",
        "| backend | processes | seconds | submissions / minute |", "|---|---|---|---|",
        f"| local pool | 1 | {one:.1f} | {60 * n / one:.1f} |",
        f"| local pool | 2 | {two:.1f} | {60 * n / two:.1f} |",
        f"| Dask on loopback (2 one-thread workers) | 2 | {dask:.1f} | {60 * n / dask:.1f} |",
        "",
        f"Dask's overhead against the local pool with the same 2 processes: "
        f"**{100 * (dask / two - 1):+.1f} %**. Identical CSVs: {same}.", ""]
    (HERE / "CLUSTER.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
