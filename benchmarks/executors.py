"""Executors run trials: one after another in this process, or in parallel in worker processes.

An executor has one method, :meth:`Executor.map_unordered`; another backend (Ray for a cluster) is one more
subclass and one more name in :data:`EXECUTORS`. Whatever an item does, the executor answers for it: with its
result, with the exception it raised (``SystemExit`` included: an agent cannot end the run), with
:class:`TrialTimeout` when it ran past its time limit, or with :class:`WorkerDied` when the process running it
died. Only ``KeyboardInterrupt`` goes through, to the caller, which decides what a stop means; closing the
iterator early abandons the items still running.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
TimeLimit = Callable[[Any], "float | None"]
"""The time limit of an item in seconds (``None``: none)."""


class TrialTimeout(Exception):
    """An item ran past its time limit."""


class WorkerDied(Exception):
    """The process running an item died before answering (a crash, the out-of-memory killer, ``os._exit``)."""


def init_worker() -> None:
    """Prepare a process to run trials: one torch thread, so that parallel trials do not compete for cores and
    a trial's numbers do not depend on the executor."""
    import torch

    torch.set_num_threads(1)


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`TrialTimeout` in this (main) thread once ``seconds`` have passed inside the block
    (``None``: no limit). It interrupts Python code and sleeps; code stuck inside one C call is not interrupted,
    which is why :class:`ProcessExecutor` also kills a worker that does not answer soon after its limit."""
    if seconds is None:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise TrialTimeout(f"ran past its time limit of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def answer(fn: Callable[[Item], Result], item: Item, seconds: float | None) -> Result | BaseException:
    """``fn(item)`` under a time limit of ``seconds``, or the exception it raised (``KeyboardInterrupt`` goes
    through)."""
    try:
        with time_limit(seconds):
            return fn(item)
    except (Exception, SystemExit) as error:
        return error


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
        self, fn: Callable[[Item], Result], items: Sequence[Item], limit: TimeLimit | None = None
    ) -> Iterator[tuple[Item, Result | BaseException]]:
        """Yield ``(item, fn(item))`` for every item as it finishes, or ``(item, exception)`` when ``fn`` raised,
        ran past ``limit(item)`` seconds (:class:`TrialTimeout`) or its process died (:class:`WorkerDied`)."""


class SerialExecutor(Executor):
    """Runs the items one after another in this process (``workers`` is ignored); the easiest to debug.

    A time limit interrupts the item with ``SIGALRM``, so this executor must run in the main thread.
    """

    def map_unordered(
        self, fn: Callable[[Item], Result], items: Sequence[Item], limit: TimeLimit | None = None
    ) -> Iterator[tuple[Item, Result | BaseException]]:
        init_worker()
        for item in items:
            yield item, answer(fn, item, None if limit is None else limit(item))


def serve(connection: multiprocessing.connection.Connection) -> None:
    """A worker process: answer ``(fn, item, seconds)`` requests on ``connection`` until ``None`` arrives, with
    ``("started", None)`` as soon as a request is read and ``("answer", result)`` when it is done.

    The worker leaves Ctrl-C to its parent, and exits at once when its parent dies (even by ``SIGKILL``), so
    that a killed run leaves no trial running behind it.
    """
    init_worker()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    while (request := connection.recv()) is not None:
        connection.send(("started", None))
        result = answer(*request)
        try:
            connection.send(("answer", result))
        except Exception as error:  # a result or exception that cannot be pickled
            error = RuntimeError(f"the worker could not send back {type(result).__name__}: {error!r}")
            connection.send(("answer", error))


def _exit_with(parent: multiprocessing.process.BaseProcess) -> None:
    """End this process as soon as ``parent`` has ended."""
    multiprocessing.connection.wait([parent.sentinel])
    os._exit(1)


@dataclass
class _Worker:
    """A worker process, its end of the pipe, and the item it runs (``None``: idle) with its time limit and the
    deadline for its answer (``None`` until the worker has started the item, or without a limit)."""

    process: multiprocessing.process.BaseProcess
    connection: multiprocessing.connection.Connection
    item: Any = None
    limit: float | None = None
    deadline: float | None = None

    def stop(self) -> None:
        """End the process: ask an idle one to finish, kill a busy one (its item is abandoned)."""
        if self.item is None and self.process.is_alive():
            with contextlib.suppress(OSError):
                self.connection.send(None)
            self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.connection.close()


class ProcessExecutor(Executor):
    """Runs the items in ``workers`` fresh ("spawn") worker processes, each prepared by :func:`init_worker`.

    ``fn``, the items and the results must be picklable. Spawned processes import what they need anew instead of
    inheriting a copy of this process (forking a process that has started torch's thread pool can deadlock). A
    worker that dies fails only its own item and is replaced; one that has not answered ``kill_grace_s`` seconds
    after its item's time limit (stuck in C code, where the limit's alarm cannot reach) is killed and replaced.
    A time limit counts from the moment the worker has read the item (a new worker's start-up is not counted).

    Args:
        workers: how many items may run at once.
        kill_grace_s: seconds after an item's time limit before its worker is killed.
    """

    def __init__(self, workers: int = 1, kill_grace_s: float = 30.0) -> None:
        super().__init__(workers)
        self.kill_grace_s = kill_grace_s

    def map_unordered(
        self, fn: Callable[[Item], Result], items: Sequence[Item], limit: TimeLimit | None = None
    ) -> Iterator[tuple[Item, Result | BaseException]]:
        context = multiprocessing.get_context("spawn")
        waiting = list(reversed(items))
        workers: list[_Worker] = []
        try:
            while waiting or any(w.item is not None for w in workers):
                for worker in workers:
                    if worker.item is None and waiting:
                        self._assign(worker, fn, waiting.pop(), limit)
                while waiting and len(workers) < min(self.workers, len(items)):
                    workers.append(self._start(context))
                    self._assign(workers[-1], fn, waiting.pop(), limit)
                busy = [w for w in workers if w.item is not None]
                deadlines = [w.deadline for w in busy if w.deadline is not None]
                wait_s = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
                ready = multiprocessing.connection.wait(
                    [w.connection for w in busy] + [w.process.sentinel for w in busy], wait_s
                )
                for worker in busy:
                    outcome = self._outcome(worker, ready)
                    if outcome is None:
                        continue
                    item = worker.item
                    if isinstance(outcome, (WorkerDied, TrialTimeout)):  # the process is gone: replace it
                        worker.stop()
                        workers[workers.index(worker)] = self._start(context)
                    worker.item = None
                    yield item, outcome
        finally:
            for worker in workers:
                worker.stop()

    @staticmethod
    def _start(context: Any) -> _Worker:
        """A new idle worker process."""
        ours, theirs = context.Pipe()
        process = context.Process(target=serve, args=(theirs,), daemon=True)
        process.start()
        theirs.close()
        return _Worker(process, ours)

    def _assign(self, worker: _Worker, fn: Callable[[Item], Result], item: Item, limit: TimeLimit | None) -> None:
        """Send ``item`` to the idle ``worker``."""
        seconds = None if limit is None else limit(item)
        worker.item, worker.limit, worker.deadline = item, seconds, None
        worker.connection.send((fn, item, seconds))

    def _outcome(self, worker: _Worker, ready: list[Any]) -> Any:
        """The busy ``worker``'s answer, :class:`WorkerDied`, :class:`TrialTimeout` past its deadline, or ``None``
        while it is still running (its deadline set once it has started the item)."""
        if worker.connection in ready or worker.process.sentinel in ready:
            try:
                while worker.connection.poll():
                    kind, result = worker.connection.recv()
                    if kind == "answer":
                        return result
                    if worker.limit is not None:
                        worker.deadline = time.monotonic() + worker.limit + self.kill_grace_s
            except (EOFError, OSError):
                pass
            if worker.process.is_alive():
                return None
            worker.process.join(1)
            code = worker.process.exitcode
            how = f"was killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"exited ({code})"
            return WorkerDied(f"the worker process running this trial {how}")
        if worker.deadline is not None and time.monotonic() >= worker.deadline:
            worker.process.kill()
            return TrialTimeout(
                f"ran past its time limit of {worker.limit:g} s and did not stop; its worker process was killed"
            )
        return None


EXECUTORS: dict[str, type[Executor]] = {"process": ProcessExecutor, "serial": SerialExecutor}
"""Executors by the name ``--executor`` takes."""


def make_executor(name: str, workers: int) -> Executor:
    """The executor called ``name`` with ``workers`` workers; ``ValueError`` naming an unknown one."""
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r}; expected one of {sorted(EXECUTORS)}")
    return EXECUTORS[name](workers)
