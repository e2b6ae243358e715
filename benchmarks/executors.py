"""Executors run trials: one after another in this process, in parallel in worker processes, or as Ray tasks on a
cluster.

An executor has one method, :meth:`Executor.map_unordered`; another backend is one more subclass and one more
name in :data:`EXECUTORS`. Whatever an item does, the executor answers for it: with its
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
import sys
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


def killed_for_time(seconds: float, what: str) -> TrialTimeout:
    """The answer for an item whose ``what`` (process, actor) was killed for running past ``seconds``."""
    return TrialTimeout(f"ran past its time limit of {seconds:g} s and did not stop; its {what} was killed")


def seconds_to_first(deadlines: list[float | None]) -> float | None:
    """Seconds until the earliest of ``deadlines`` (``time.monotonic()`` times; ``None``: none), at least 0;
    ``None`` when there is none, so that a wait for answers has no timeout."""
    set_deadlines = [deadline for deadline in deadlines if deadline is not None]
    return max(0.0, min(set_deadlines) - time.monotonic()) if set_deadlines else None


def init_worker() -> None:
    """Prepare a process to run trials: one torch thread, so that parallel trials do not compete for cores and
    a trial's numbers do not depend on the executor."""
    import torch

    torch.set_num_threads(1)


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`TrialTimeout` in the main thread once ``seconds`` have passed inside the block (``None``: no
    limit; outside the main thread no alarm either). It interrupts Python code and sleeps; code stuck inside one C
    call is not interrupted, which is why the process and Ray executors also kill a worker that does not answer
    soon after its limit."""
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield  # an alarm reaches only the main thread; elsewhere the executor's kill is the limit
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
                ready = multiprocessing.connection.wait(
                    [w.connection for w in busy] + [w.process.sentinel for w in busy],
                    seconds_to_first([w.deadline for w in busy]),
                )
                for worker in busy:
                    outcome = self._outcome(worker, ready)
                    if outcome is None:
                        continue
                    item = worker.item
                    if isinstance(outcome, (WorkerDied, TrialTimeout)):  # the process is gone; a new one starts for
                        worker.stop()  # the next item, if there is one
                        workers.remove(worker)
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
            return killed_for_time(worker.limit, "worker process")
        return None


class _RayWorker:
    """A Ray actor that runs one item in a process of its own, prepared by :func:`init_worker`."""

    def __init__(self) -> None:
        init_worker()

    def ready(self) -> bool:
        """Answers once the actor's process is up (so that a time limit does not count its start-up)."""
        return True

    def run(self, fn: Callable[[Item], Result], item: Item, seconds: float | None) -> Result | BaseException:
        """:func:`answer` for ``item``."""
        return answer(fn, item, seconds)


class RayExecutor(Executor):
    """Runs the items on a Ray cluster, or on a local Ray started for the run (``pip install textgym[ray]``).

    Each item runs in a Ray actor of its own that declares one CPU (and one GPU when the item says
    ``needs_gpu``) and is never restarted; at most ``workers`` run at once. An item's time limit counts from the
    moment its actor is up. An actor that dies fails only its own item (:class:`WorkerDied`); one that has not
    answered ``kill_grace_s`` seconds after its item's limit is killed (:class:`TrialTimeout`). Closing the
    iterator kills the running actors, and shuts down the local Ray it started.

    Args:
        workers: how many items may run at once.
        address: the cluster to join (``"auto"``, ``"ray://host:10001"``, ``"host:6379"``); ``None``: the
            ``RAY_ADDRESS`` variable, or else a local Ray started with ``workers`` CPUs.
        kill_grace_s: seconds after an item's time limit before its actor is killed.
    """

    def __init__(self, workers: int = 1, address: str | None = None, kill_grace_s: float = 30.0) -> None:
        super().__init__(workers)
        self.address = address
        self.kill_grace_s = kill_grace_s

    def map_unordered(
        self, fn: Callable[[Item], Result], items: Sequence[Item], limit: TimeLimit | None = None
    ) -> Iterator[tuple[Item, Result | BaseException]]:
        try:
            import ray
        except ImportError:
            raise ImportError("the Ray executor needs Ray: pip install 'textgym[ray]'") from None
        started_here = not ray.is_initialized()
        if started_here:
            self._start_ray(ray)
        worker_class = ray.remote(num_cpus=1, max_restarts=0)(_RayWorker)
        waiting = list(reversed(items))
        calls: dict[Any, _RayCall] = {}  # the pending call of each running item: its actor's ready(), then run()
        try:
            while waiting or calls:
                while waiting and len(calls) < self.workers:
                    item = waiting.pop()
                    actor = worker_class.options(num_gpus=1 if getattr(item, "needs_gpu", False) else 0).remote()
                    calls[actor.ready.remote()] = _RayCall(actor, item, None if limit is None else limit(item))
                wait_s = seconds_to_first([call.deadline for call in calls.values()])
                done, _ = ray.wait(list(calls), num_returns=1, timeout=wait_s)
                for ref in done:
                    call = calls.pop(ref)
                    try:
                        value = ray.get(ref)
                    except ray.exceptions.RayActorError as error:
                        outcome: Any = WorkerDied(f"the Ray actor running this trial died: {type(error).__name__}")
                    except ray.exceptions.RayError as error:
                        outcome = error
                    else:
                        if not call.started:
                            call.start(self.kill_grace_s)
                            calls[call.actor.run.remote(fn, call.item, call.seconds)] = call
                            continue
                        outcome = value
                    ray.kill(call.actor)
                    yield call.item, outcome
                for ref, call in list(calls.items()):
                    if call.deadline is not None and time.monotonic() >= call.deadline:
                        ray.kill(call.actor)
                        del calls[ref]
                        yield call.item, killed_for_time(call.seconds, "Ray actor")
        finally:
            for call in calls.values():
                ray.kill(call.actor)
            if started_here:
                ray.shutdown()

    def _start_ray(self, ray: Any) -> None:
        """Join the cluster at ``address`` (or ``RAY_ADDRESS``), or start a local Ray whose workers import what
        this process can (its ``sys.path``) and run at normal priority."""
        address = self.address or os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address, log_to_driver=False)
        else:  # the local Ray's processes inherit this environment while it starts
            local = {
                "PYTHONPATH": os.pathsep.join(entry for entry in sys.path if entry),  # import what this process can
                "RAY_worker_niceness": "0",  # trials are the run's work, not background work (Ray's default: 15)
            }
            previous = {name: os.environ.get(name) for name in local}
            os.environ.update(local)
            try:
                ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False)
            finally:
                for name, value in previous.items():
                    if value is None:
                        del os.environ[name]
                    else:
                        os.environ[name] = value


@dataclass
class _RayCall:
    """An item on its way through a Ray actor: started once the actor is up, with a deadline when it has a
    limit."""

    actor: Any
    item: Any
    seconds: float | None
    started: bool = False
    deadline: float | None = None

    def start(self, kill_grace_s: float) -> None:
        """The actor is up and gets the item now."""
        self.started = True
        if self.seconds is not None:
            self.deadline = time.monotonic() + self.seconds + kill_grace_s


EXECUTORS: dict[str, type[Executor]] = {"process": ProcessExecutor, "ray": RayExecutor, "serial": SerialExecutor}
"""Executors by the name ``--executor`` takes."""


def make_executor(name: str, workers: int, address: str | None = None) -> Executor:
    """The executor called ``name`` with ``workers`` workers (and, for Ray, the cluster's ``address``);
    ``ValueError`` naming an unknown one, or an address given to another executor."""
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r}; expected one of {sorted(EXECUTORS)}")
    if name == "ray":
        return RayExecutor(workers, address=address)
    if address is not None:
        raise ValueError(f"--address is for the Ray executor, not {name!r}")
    return EXECUTORS[name](workers)
