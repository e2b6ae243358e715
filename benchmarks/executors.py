"""Executors run trials: one after another in this process, or in parallel in a pool of processes.

An executor has one method, :meth:`Executor.map_unordered`; another backend (Ray for a cluster) is one more
subclass and one more name in :data:`EXECUTORS`.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def init_worker() -> None:
    """Prepare a process to run trials: one torch thread, so that parallel trials do not compete for cores and
    a trial's numbers do not depend on the executor."""
    import torch

    torch.set_num_threads(1)


class Executor(ABC):
    """Runs a function on many items.

    Args:
        workers: how many items may run at once.
    """

    def __init__(self, workers: int = 1) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        self.workers = workers

    @abstractmethod
    def map_unordered(
        self, fn: Callable[[Item], Result], items: Sequence[Item]
    ) -> Iterator[tuple[Item, Result | BaseException]]:
        """Yield ``(item, fn(item))`` for every item as it finishes, or ``(item, exception)`` when ``fn`` raised
        or the item could not be run (a worker process died)."""


class SerialExecutor(Executor):
    """Runs the items one after another in this process (``workers`` is ignored); the easiest to debug."""

    def map_unordered(
        self, fn: Callable[[Item], Result], items: Sequence[Item]
    ) -> Iterator[tuple[Item, Result | BaseException]]:
        init_worker()
        for item in items:
            try:
                yield item, fn(item)
            except Exception as error:
                yield item, error


class ProcessExecutor(Executor):
    """Runs the items in a pool of ``workers`` fresh ("spawn") processes, each prepared by :func:`init_worker`.

    ``fn`` and the items must be picklable. Spawned processes import what they need anew instead of inheriting a
    copy of this process (forking a process that has started torch's thread pool can deadlock).
    """

    def map_unordered(
        self, fn: Callable[[Item], Result], items: Sequence[Item]
    ) -> Iterator[tuple[Item, Result | BaseException]]:
        if not items:
            return
        context = multiprocessing.get_context("spawn")
        workers = min(self.workers, len(items))
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context, initializer=init_worker) as pool:
            futures = {pool.submit(fn, item): item for item in items}
            try:
                for future in concurrent.futures.as_completed(futures):
                    error = future.exception()
                    yield futures[future], future.result() if error is None else error
            finally:
                for future in futures:
                    future.cancel()


EXECUTORS: dict[str, type[Executor]] = {"process": ProcessExecutor, "serial": SerialExecutor}
"""Executors by the name ``--executor`` takes."""


def make_executor(name: str, workers: int) -> Executor:
    """The executor called ``name`` with ``workers`` workers; ``ValueError`` naming an unknown one."""
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r}; expected one of {sorted(EXECUTORS)}")
    return EXECUTORS[name](workers)
