"""Run grading tasks on a pool of worker processes, streaming results as they finish.

Tasks are drawn from an iterable only as slots free up (a bounded number in flight), so a class
of any size costs the coordinator the same memory. One task failing (even the worker process
dying) costs that student's grade only: it is reported through ``on_error`` and the rest goes on.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def stream(function: Callable[[T], R], tasks: Iterable[T], workers: int,
           on_error: Callable[[T, BaseException], R],
           in_flight: int | None = None) -> Iterator[tuple[T, R]]:
    """``(task, function(task))`` for every task, in the order they finish, ``workers`` at a
    time. A broken pool (a worker killed) is replaced, and its tasks are retried once."""
    limit = in_flight or 2 * workers
    queue = enumerate(tasks)
    retry: deque[tuple[int, T]] = deque()
    retried: set[int] = set()
    context = multiprocessing.get_context("spawn")
    exhausted = False
    while not exhausted or retry:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            running: dict[Future, tuple[int, T]] = {}
            broken = False
            while True:
                while not broken and len(running) < limit:
                    item = retry.popleft() if retry else next(queue, None)
                    if item is None:
                        exhausted = True
                        break
                    try:
                        running[pool.submit(function, item[1])] = item
                    except BrokenProcessPool:  # a worker died since the last result
                        broken = True
                        retry.appendleft(item)
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    number, task = running.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool as error:
                        broken = True
                        if number not in retried:
                            retried.add(number)
                            retry.append((number, task))
                            continue
                        result = on_error(task, error)
                    except Exception as error:  # a bug of ours or nbgrader's: this task only
                        result = on_error(task, error)
                    yield task, result
