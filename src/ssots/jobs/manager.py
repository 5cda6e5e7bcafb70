"""The job manager: a thread in the serving process that hands queued jobs to free
workers, notices workers that ended without recording an outcome, enforces cancellation
with a hard kill when a worker does not stop by itself, and at start-up ends the jobs a
dead server left running."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Protocol

from ssots.jobs.executor import Executor
from ssots.spec import JobStatus
from ssots.store.jobs import JobStore, now

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.2
"""Seconds between rounds when nothing wakes the manager sooner."""

CANCEL_GRACE = 1.0
"""Seconds a running job has to stop by itself after a cancel request before its worker
is killed."""


class Coordinator(Protocol):
    """Something that queues jobs of its own from the outcomes of others (the tuning
    studies: ``jobs.studies.StudyCoordinator``); the manager runs it each round."""

    def recover(self) -> None:
        """At start-up, after interrupted jobs were recovered."""

    def step(self) -> bool:
        """One round, after ended workers were reaped; True when it queued jobs."""


class JobManager:
    """Dispatches queued jobs to an executor.

    Args:
        store: the jobs.
        executor: where attempts run.
        requeue_interrupted: at start-up, put jobs a dead server left running back in the
            queue instead of marking them failed.
        coordinators: run each round between reaping and dispatching (tuning studies).
    """

    def __init__(
        self,
        store: JobStore,
        executor: Executor,
        *,
        requeue_interrupted: bool = False,
        coordinators: Sequence[Coordinator] = (),
    ) -> None:
        self.store = store
        self.executor = executor
        self.requeue_interrupted = requeue_interrupted
        self.coordinators = tuple(coordinators)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Recover interrupted jobs, then dispatch in a background thread."""
        recovered = self.store.interrupt(requeue=self.requeue_interrupted)
        if recovered:
            action = "re-queued" if self.requeue_interrupted else "marked failed"
            log.warning(
                "%d job(s) interrupted by the last shutdown %s: %s",
                len(recovered),
                action,
                ", ".join(recovered),
            )
        for coordinator in self.coordinators:
            coordinator.recover()
        self._thread = threading.Thread(target=self._loop, name="ssots-job-manager", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Run a round now (a job was queued or a cancel requested)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop dispatching, kill running workers and end their jobs as interrupted (or
        re-queue them, as configured)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        attempts = self.executor.running()
        self.executor.close()
        self.executor.reap()
        if attempts:
            self.store.interrupt(
                requeue=self.requeue_interrupted,
                attempts=attempts,
                message="interrupted by server shutdown",
            )

    def tick(self) -> None:
        """One round: reap ended workers, run the coordinators, enforce cancellation,
        start queued jobs."""
        self._reap()
        for coordinator in self.coordinators:
            coordinator.step()
        self._enforce_cancellation()
        self._dispatch()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("job manager round failed; retrying")
            self._wake.wait(POLL_INTERVAL)
            self._wake.clear()

    def _reap(self) -> None:
        for attempt, exit_code in self.executor.reap():
            if self.store.finish(
                attempt,
                [],
                status=JobStatus.FAILED,
                message=(f"the worker process ended without a result (exit code {exit_code})"),
            ):
                log.error(
                    "job %s: worker ended without a result (exit code %s)",
                    attempt.job_id,
                    exit_code,
                )

    def _enforce_cancellation(self) -> None:
        attempts = {attempt.job_id: attempt for attempt in self.executor.running()}
        for job_id, requested_at in self.store.cancel_requests(list(attempts)).items():
            if (now() - requested_at).total_seconds() < CANCEL_GRACE:
                continue
            self.executor.kill(job_id)
            self.store.finish(
                attempts[job_id],
                [],
                status=JobStatus.CANCELLED,
                message="cancelled by request (the worker was stopped)",
            )

    def _dispatch(self) -> None:
        while len(self.executor.running()) < self.executor.capacity:
            attempt = self.store.claim_next()
            if attempt is None:
                return
            try:
                self.executor.start(attempt)
            except Exception as exc:
                log.exception("job %s: could not start a worker", attempt.job_id)
                self.store.finish(
                    attempt, [], status=JobStatus.FAILED, message=f"could not start a worker: {exc}"
                )
