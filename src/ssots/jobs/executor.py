"""Executors: where a job's attempts run. ``LocalExecutor`` runs each attempt in its own
process on this machine, at most ``capacity`` at once; ``cluster.RayExecutor`` runs each
as a task on a Ray cluster behind the same interface. Both run ``worker.run_attempt``,
whatever the job's kind."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from collections.abc import Callable
from multiprocessing import forkserver
from multiprocessing.connection import wait
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


class LocalExecutor:
    """One process per attempt from a ``forkserver`` (``spawn`` where there is none): a
    fresh process that already imported the pipeline, so starting one is cheap and killing
    one leaves the others untouched. Each worker limits its native thread pools (BLAS,
    OpenMP, numba) to ``threads_per_worker`` before it computes anything.

    Args:
        settings: passed to every worker (each opens its own database engine).
        capacity: most attempts running at once.
        threads_per_worker: native threads of each worker; default: the available cores
            divided among ``capacity`` workers, at least 1.
    """

    def __init__(
        self, settings: Settings, capacity: int, *, threads_per_worker: int | None = None
    ) -> None:
        self.settings = settings
        self.capacity = capacity
        if threads_per_worker is None:
            threads_per_worker = _threads.threads_per_worker(capacity)
        self.threads_per_worker = threads_per_worker
        _threads.passive_waits()  # before the forkserver starts: it loads the OpenMP runtime
        methods = multiprocessing.get_all_start_methods()
        self._context = multiprocessing.get_context(
            "forkserver" if "forkserver" in methods else "spawn"
        )
        if self._context.get_start_method() == "forkserver":
            self._context.set_forkserver_preload(list(WORKER_PRELOAD))
            # Start it (and its preloading) now, not when the first job is claimed.
            threading.Thread(target=forkserver.ensure_running, daemon=True).start()
        self._workers: dict[str, tuple[Attempt, BaseProcess]] = {}
        self.notify: Callable[[], None] | None = None
        """Called when a worker process ends (the job manager sets its ``wake``)."""

    def start(self, attempt: Attempt) -> None:
        """Start a worker process for ``attempt``."""
        from ssots.jobs.worker import run_attempt  # (the forkserver preloaded it)

        process = self._context.Process(
            target=run_attempt,
            args=(attempt, self.settings, os.getpid(), self.threads_per_worker),
            name=f"ssots-job-{attempt.job_id}",
            daemon=True,
        )
        process.start()
        self._workers[attempt.job_id] = (attempt, process)
        if self.notify is not None:  # tell the manager as soon as the worker ends
            threading.Thread(
                target=_notify_on_exit, args=(process.sentinel, self.notify), daemon=True
            ).start()

    def running(self) -> list[Attempt]:
        """Attempts started and not yet reaped."""
        return [attempt for attempt, _ in self._workers.values()]

    def reap(self) -> list[tuple[Attempt, int | None]]:
        """Attempts whose process has exited, with its exit code."""
        ended = [job_id for job_id, (_, process) in self._workers.items() if not process.is_alive()]
        reaped = []
        for job_id in ended:
            attempt, process = self._workers.pop(job_id)
            process.join()
            reaped.append((attempt, process.exitcode))
            process.close()
        return reaped

    def kill(self, job_id: str) -> None:
        """SIGKILL the worker of ``job_id`` and wait for it to be gone."""
        _, process = self._workers[job_id]
        process.kill()
        process.join(KILL_WAIT)

    def close(self) -> None:
        """Kill every worker; their attempts stay listed until reaped."""
        for job_id in list(self._workers):
            self.kill(job_id)


def _notify_on_exit(sentinel: int, notify: Callable[[], None]) -> None:
    with contextlib.suppress(OSError, ValueError):  # (a sentinel closed by reap: it ended)
        wait([sentinel])
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
