"""Executors: where a job's attempts run. ``LocalExecutor`` runs each attempt in its own
process on this machine, at most ``capacity`` at once; a cluster executor (Ray) can
take its place behind the same interface."""

from __future__ import annotations

import multiprocessing
import os
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
        """Attempts whose worker has ended since the last call, with its exit code."""

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
        self._workers: dict[str, tuple[Attempt, BaseProcess]] = {}

    def start(self, attempt: Attempt) -> None:
        """Start a worker process for ``attempt``."""
        from ssots.jobs.worker import run_attempt

        process = self._context.Process(
            target=run_attempt,
            args=(attempt, self.settings, os.getpid(), self.threads_per_worker),
            name=f"ssots-job-{attempt.job_id}",
            daemon=True,
        )
        process.start()
        self._workers[attempt.job_id] = (attempt, process)

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
