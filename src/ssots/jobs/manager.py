"""The job manager: a thread in a serving (or ``ssots worker``) process that hands queued
jobs to free workers, notices workers that ended without recording an outcome, enforces
cancellation with a hard kill when a worker does not stop by itself, and reaps expired
leases.

Every process that runs jobs has one, whatever its executor, and they may share one
database: a claim is one statement (``JobStore.claim_next``), a running job's lease is
renewed by its worker and by the manager that started it (while the executor holds the
attempt: a worker still starting keeps its job), and every manager's reaper re-queues
(or fails, past the attempt limit) the jobs whose lease ran out, so a server or worker
that dies is replaced by any other. Recovery at start-up (every job left running is
interrupted at once) is kept for the single server that owns an SQLite home under its
lock."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from typing import Protocol

from ssots.jobs.executor import Executor
from ssots.spec import JobStatus
from ssots.store.jobs import LEASE_SECONDS, JobStore, now

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.2
"""Seconds between rounds when nothing wakes the manager sooner."""

CANCEL_GRACE = 1.0
"""Seconds a running job has to stop by itself after a cancel request before its worker
is killed."""

REAP_EVERY = 0.25
"""The reaper looks for expired leases every this fraction of the lease duration."""


def process_name() -> str:
    """``host:pid`` of this process: the ``owner`` written on the jobs it claims."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Coordinator(Protocol):
    """Something that queues jobs of its own from the outcomes of others (the tuning
    studies: ``jobs.studies.StudyCoordinator``); the manager runs it each round."""

    def recover(self) -> None:
        """At start-up, after interrupted jobs were recovered."""

    def step(self) -> bool:
        """One round, after ended workers were reaped; True when it queued jobs."""


class JobManager:
    """Dispatches queued jobs to an executor and reaps expired leases.

    Args:
        store: the jobs.
        executor: where attempts run.
        requeue_interrupted: put jobs interrupted by a restart or a shutdown back in the
            queue instead of marking them failed.
        lease_seconds: the lease of each claim (the workers renew it).
        recover_at_start: at start-up, interrupt every job left running (only for the
            one server of an SQLite home; with a shared database the reaper does it).
        kinds: the job kinds this manager claims (default: every kind).
        coordinators: run each round between reaping and dispatching (tuning studies).
    """

    def __init__(
        self,
        store: JobStore,
        executor: Executor,
        *,
        requeue_interrupted: bool = False,
        lease_seconds: float = LEASE_SECONDS,
        recover_at_start: bool = True,
        kinds: tuple[str, ...] | None = None,
        coordinators: Sequence[Coordinator] = (),
    ) -> None:
        self.store = store
        self.executor = executor
        self.requeue_interrupted = requeue_interrupted
        self.lease_seconds = lease_seconds
        self.recover_at_start = recover_at_start
        self.kinds = kinds
        self.owner = process_name()
        if hasattr(executor, "notify"):  # an executor that can say when a worker ended
            executor.notify = self.wake
        self._next_reap = 0.0
        self.coordinators = tuple(coordinators)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Recover interrupted jobs (if configured), then dispatch in a background thread."""
        if self.recover_at_start:
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

    def idle(self, timeout: float) -> None:
        """Wait until ``wake`` is called (a worker ended an attempt, a job was queued) or
        ``timeout`` seconds passed: the pause between two rounds."""
        self._wake.wait(timeout)
        self._wake.clear()

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
        renew the leases of the attempts in the executor and reap expired ones (a few times
        per lease), start queued jobs."""
        self._reap()
        for coordinator in self.coordinators:
            coordinator.step()
        self._enforce_cancellation()
        if time.monotonic() >= self._next_reap:
            self._next_reap = time.monotonic() + REAP_EVERY * self.lease_seconds
            self.store.renew_all(self.executor.running(), self.lease_seconds)
            self.reap_expired()
        self._dispatch()

    def reap_expired(self) -> None:
        """Re-queue (or fail, past the attempt limit) the jobs whose lease expired."""
        for job_id, status in self.store.reap_expired().items():
            log.warning("job %s: its lease expired; now %s", job_id, status)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("job manager round failed; retrying")
            self.idle(POLL_INTERVAL)

    def _reap(self) -> None:
        for attempt, exit_code in self.executor.reap():
            if exit_code is None:  # lost with its worker (a cluster node): try again
                status = self.store.retry(attempt, "its worker was lost")
                if status is not None:
                    log.error("job %s: its worker was lost; now %s", attempt.job_id, status)
                continue
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
            attempt = self.store.claim_next(
                lease_seconds=self.lease_seconds, owner=self.owner, kinds=self.kinds
            )
            if attempt is None:
                return
            try:
                self.executor.start(attempt)
            except Exception as exc:
                log.exception("job %s: could not start a worker", attempt.job_id)
                self.store.finish(
                    attempt, [], status=JobStatus.FAILED, message=f"could not start a worker: {exc}"
                )
