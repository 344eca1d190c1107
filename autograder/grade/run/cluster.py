"""Run grading tasks on a Dask cluster instead of the local pool.

Tasks stream through the cluster with a bounded number in flight (no graph of every submission
built up front), and each result is handed back the moment it arrives. A task that raises is
retried ``retries`` times; a task whose worker dies is rescheduled by Dask (up to its
``allowed-failures``); after that the student alone is reported as "grading failed". Each Dask
worker must run one thread (``dask worker --nthreads 1``): a grading task sets process-wide
environment variables for its kernel, and a process's kernel zygote serves one kernel at a time.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class ClusterError(RuntimeError):
    """The cluster cannot be used as it is set up."""


def stream_on_cluster(function: Callable[[T], R], tasks: Iterable[T], scheduler: str,
                      on_error: Callable[[T, BaseException], R], retries: int = 2,
                      in_flight: int | None = None, label: str = "grading"
                      ) -> Iterator[tuple[T, R]]:
    """``(task, function(task))`` for every task on the cluster at ``scheduler``, in the order
    they finish; tasks are drawn from ``tasks`` only as results come back."""
    from distributed import Client, as_completed

    run = uuid.uuid4().hex[:8]
    with Client(scheduler, timeout="30s") as client:
        threads = client.nthreads()
        if not threads:
            raise ClusterError(f"the Dask cluster at {scheduler} has no workers")
        if any(n != 1 for n in threads.values()):
            raise ClusterError("every Dask worker must run one thread: start them with "
                               "`dask worker --nthreads 1` (several workers per machine are fine)")
        queue = enumerate(tasks)
        futures = {}
        finished = as_completed()

        def submit_next() -> None:
            item = next(queue, None)
            if item is not None:
                future = client.submit(function, item[1], key=f"{label}-{run}-{item[0]}",
                                       pure=False, retries=retries)
                futures[future] = item[1]
                finished.add(future)

        for _ in range(in_flight or 2 * len(threads)):
            submit_next()
        for future in finished:
            task = futures.pop(future)
            try:
                result = future.result()
            except Exception as error:  # retries spent, or the worker died too often
                result = on_error(task, error)
            future.release()
            yield task, result
            submit_next()
