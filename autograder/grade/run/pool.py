"""Run grading tasks on a pool of worker processes, with a progress bar.

One task failing (even the worker process dying) costs that student's grade only: it is reported
as "grading failed" and the rest of the batch goes on.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")
R = TypeVar("R")


def run_all(function: Callable[[T], R], tasks: Iterable[T], workers: int,
            on_error: Callable[[T, BaseException], R], label: str = "grading") -> list[R]:
    """``function`` on every task, ``workers`` at a time; results in the order of ``tasks``."""
    tasks = list(tasks)
    results: dict[int, R] = {}
    context = multiprocessing.get_context("spawn")
    with tqdm(total=len(tasks), desc=label, unit="task", disable=None) as bar:
        pending, retried = list(range(len(tasks))), set()
        while pending:  # a broken pool (a worker killed) is replaced; its tasks are retried once
            retry = []
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                futures = {pool.submit(function, tasks[i]): i for i in pending}
                for future in as_completed(futures):
                    index = futures[future]
                    try:
                        results[index] = future.result()
                    except BrokenProcessPool as error:
                        if index in retried:
                            results[index] = on_error(tasks[index], error)
                        else:
                            retry.append(index)
                            continue
                    except Exception as error:  # a bug of ours or nbgrader's: this task only
                        results[index] = on_error(tasks[index], error)
                    bar.update()
            retried |= set(retry)
            pending = retry
    return [results[i] for i in range(len(tasks))]
