"""Run grading tasks on a Dask cluster instead of the local pool.

Tasks stream through the cluster with a bounded number in flight (no graph of every submission
built up front). A task that raises is retried ``retries`` times; a task whose worker dies is
rescheduled by Dask (up to its ``allowed-failures``); after that the student alone is reported as
"grading failed". Each Dask worker must run one thread (``dask worker --nthreads 1``): a grading
task sets process-wide environment variables for its kernel, and a process's kernel zygote
serves one kernel at a time.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")
R = TypeVar("R")


class ClusterError(RuntimeError):
    """The cluster cannot be used as it is set up."""


def run_on_cluster(function: Callable[[T], R], tasks: Iterable[T], scheduler: str,
                   on_error: Callable[[T, BaseException], R], retries: int = 2,
                   in_flight: int | None = None, label: str = "grading") -> list[R]:
    """``function`` on every task on the cluster at ``scheduler``; results in task order."""
    from distributed import Client, as_completed

    tasks = list(tasks)
    results: dict[int, R] = {}
    run = uuid.uuid4().hex[:8]
    with Client(scheduler, timeout="30s") as client:
        threads = client.nthreads()
        if not threads:
            raise ClusterError(f"the Dask cluster at {scheduler} has no workers")
        if any(n != 1 for n in threads.values()):
            raise ClusterError("every Dask worker must run one thread: start them with "
                               "`dask worker --nthreads 1` (several workers per machine are fine)")
        limit = in_flight or 2 * len(threads)
        queue = iter(range(len(tasks)))
        futures = {}
        finished = as_completed()

        def submit_next() -> None:
            index = next(queue, None)
            if index is not None:
                future = client.submit(function, tasks[index], key=f"{label}-{run}-{index}",
                                       pure=False, retries=retries)
                futures[future] = index
                finished.add(future)

        for _ in range(limit):
            submit_next()
        with tqdm(total=len(tasks), desc=f"{label} on {scheduler}", unit="task",
                  disable=None) as bar:
            for future in finished:
                index = futures.pop(future)
                try:
                    results[index] = future.result()
                except Exception as error:  # retries spent, or the worker died too often
                    results[index] = on_error(tasks[index], error)
                bar.update()
                submit_next()
    return [results[i] for i in range(len(tasks))]
