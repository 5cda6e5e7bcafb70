"""Executors: where a job's attempts run. ``LocalExecutor`` runs attempts in worker
processes on this machine, at most ``capacity`` at once, one attempt per process at a
time; ``cluster.RayExecutor`` runs each
as a task on a Ray cluster behind the same interface. Both run an attempt through
``worker.run_leased``, whatever the job's kind."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import forkserver
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Protocol

from ssots import _threads
from ssots.config import Settings
from ssots.store.jobs import Attempt

KILL_WAIT = 5.0
"""Seconds to wait for a killed worker process to be gone."""

WORKER_PRELOAD: tuple[str, ...] = (
    "ssots.jobs.worker",
    "sklearn.ensemble",
    "sklearn.linear_model",
    "sklearn.metrics",
    "ssots.jobs.trials",
    "optuna",
    "ssots.jobs.warmup",
)
"""What the forkserver imports once, so that no job pays for it: the worker (and the
pipeline), the scikit-learn modules of the baselines, the tuning trials with Optuna, and
``warmup``, which loads the compiled numba loops once."""


class Executor(Protocol):
    """Runs attempts; the job manager asks it what ended and what to kill."""

    capacity: int

    def start(self, attempt: Attempt) -> None:
        """Begin running ``attempt`` (the job is already claimed)."""

    def running(self) -> list[Attempt]:
        """Attempts started and not yet reaped."""

    def reap(self) -> list[tuple[Attempt, int | None]]:
        """Attempts whose worker has ended since the last call, with its exit code (None:
        the worker was lost, e.g. with its cluster node; the job may be tried again)."""

    def kill(self, job_id: str) -> None:
        """Stop the worker of ``job_id`` at once (no clean-up runs in it)."""

    def close(self) -> None:
        """Kill every worker still running."""


ATTEMPTS_PER_WORKER = 100
"""A worker process retires after this many attempts (a fresh one takes its place), so
that whatever one job leaves behind in a process does not build up for ever."""


@dataclass
class _Worker:
    """A worker process, the parent's end of its pipe and the attempt it runs (None: idle)."""

    process: BaseProcess
    connection: Connection
    attempt: Attempt | None = None


class LocalExecutor:
    """Worker processes on this machine, at most ``capacity``, each running one attempt at
    a time and kept for the next one (``worker.serve_attempts``): a process from a
    ``forkserver`` (``spawn`` where there is none) that already imported the pipeline and
    loaded the compiled loops, and that keeps its database engine, Optuna's storage and
    its warm caches between attempts, so that a short job (a tuning trial) pays almost
    nothing to start. Killing a worker (cancellation, shutdown) leaves the others
    untouched; the next attempt gets a fresh process. Each worker limits its native thread
    pools (BLAS, OpenMP, numba) to ``threads_per_worker`` before it computes anything.

    Args:
        settings: passed to every worker (each opens its own database engine).
        capacity: most attempts running at once.
        threads_per_worker: native threads of each worker; default: the available cores
            divided among ``capacity`` workers, at least 1.
        attempts_per_worker: attempts a worker process runs before it retires.
    """

    def __init__(
        self,
        settings: Settings,
        capacity: int,
        *,
        threads_per_worker: int | None = None,
        attempts_per_worker: int = ATTEMPTS_PER_WORKER,
    ) -> None:
        self.settings = settings
        self.capacity = capacity
        if threads_per_worker is None:
            threads_per_worker = _threads.threads_per_worker(capacity)
        self.threads_per_worker = threads_per_worker
        self.attempts_per_worker = attempts_per_worker
        _threads.passive_waits()  # before the forkserver starts: it loads the OpenMP runtime
        methods = multiprocessing.get_all_start_methods()
        self._context = multiprocessing.get_context(
            "forkserver" if "forkserver" in methods else "spawn"
        )
        if self._context.get_start_method() == "forkserver":
            self._context.set_forkserver_preload(list(WORKER_PRELOAD))
            # Start it (and its preloading) now, not when the first job is claimed.
            threading.Thread(target=forkserver.ensure_running, daemon=True).start()
        self._workers: list[_Worker] = []
        self.notify: Callable[[], None] | None = None
        """Called when a worker ends an attempt (the job manager sets its ``wake``)."""

    def start(self, attempt: Attempt) -> None:
        """Hand ``attempt`` to an idle worker process, starting one if none is idle; then
        start the rest up to ``capacity``, which warm up while they wait."""
        worker = next((w for w in self._workers if w.attempt is None), None) or self._spawn()
        worker.connection.send(attempt)
        worker.attempt = attempt
        while len(self._workers) < self.capacity:  # the others warm up for the next ones
            self._spawn()
        if self.notify is not None:  # tell the manager as soon as the attempt ends
            threading.Thread(
                target=_notify_on_reply, args=(worker, self.notify), daemon=True
            ).start()

    def _spawn(self) -> _Worker:
        from ssots.jobs.worker import serve_attempts  # (the forkserver preloaded it)

        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=serve_attempts,
            args=(theirs, self.settings, os.getpid(), self.threads_per_worker),
            kwargs={"attempts": self.attempts_per_worker},
            name="ssots-worker",
            daemon=True,
        )
        process.start()
        theirs.close()
        worker = _Worker(process, ours)
        self._workers.append(worker)
        return worker

    def running(self) -> list[Attempt]:
        """Attempts started and not yet reaped."""
        return [w.attempt for w in self._workers if w.attempt is not None]

    def reap(self) -> list[tuple[Attempt, int | None]]:
        """Attempts that ended since the last call: 0 for one its worker finished (the
        worker stays for the next), the exit code for one whose process ended."""
        reaped = []
        for worker in list(self._workers):
            retiring = None if worker.attempt is None else _reply(worker.connection)
            if retiring is not None:
                reaped.append((worker.attempt, 0))
                worker.attempt = None
            if retiring or not worker.process.is_alive():
                worker.process.join(KILL_WAIT)
                if worker.attempt is not None:
                    reaped.append((worker.attempt, worker.process.exitcode))
                self._close(worker)
        return reaped

    def kill(self, job_id: str) -> None:
        """SIGKILL the worker running ``job_id`` and wait for it to be gone (``reap``
        reports the attempt with the exit code)."""
        for worker in self._workers:
            if worker.attempt is not None and worker.attempt.job_id == job_id:
                worker.process.kill()
                worker.process.join(KILL_WAIT)

    def close(self) -> None:
        """Kill every worker that runs an attempt (the attempt stays listed until reaped);
        let the idle ones exit by themselves (they release what they hold)."""
        for worker in list(self._workers):
            if worker.attempt is None:
                worker.connection.close()  # the worker's next receive ends its loop
                worker.process.join(KILL_WAIT)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(KILL_WAIT)
            if worker.attempt is None:
                self._close(worker)

    def _close(self, worker: _Worker) -> None:
        self._workers.remove(worker)
        worker.connection.close()
        worker.process.close()


def _reply(connection: Connection) -> bool | None:
    """The end-of-attempt reply of the worker at the other end (whether it retires), or
    None when there is none yet or the pipe broke (the process died: ``reap`` reports its
    exit code)."""
    try:
        return bool(connection.recv()) if connection.poll() else None
    except (OSError, EOFError):
        return None


def _notify_on_reply(worker: _Worker, notify: Callable[[], None]) -> None:
    with contextlib.suppress(OSError, ValueError):  # (closed by reap: it ended)
        wait([worker.connection, worker.process.sentinel])
    notify()


def make_executor(
    settings: Settings, capacity: int, *, threads_per_worker: int | None = None
) -> Executor:
    """The executor ``settings.executor`` names: ``local`` worker processes, or tasks on
    the Ray cluster at ``settings.ray_address`` (``ray`` must be installed:
    ``pip install 'ssots[ray]'``), ``capacity`` attempts at once."""
    if settings.executor == "ray":
        from ssots.jobs.cluster import RayExecutor

        return RayExecutor(settings, capacity, threads_per_task=threads_per_worker or 1)
    return LocalExecutor(settings, capacity, threads_per_worker=threads_per_worker)
