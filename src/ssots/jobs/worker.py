"""A job's attempt inside a worker process: the training service (the function the CLI
calls) with an event sink that writes progress to the database in batches, honours cancellation,
and records the outcome and the weights file under ``$SSOTS_HOME/runs/<job id>``.

A weights file the home folder refuses (read-only, full) fails the job with that cause
(no server path in the message) and keeps the trained parameters in the job's result."""

from __future__ import annotations

import logging
import math
import os
import select
import signal
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from ssots._threads import limit_threads, thread_report
from ssots.artifacts import weights_document
from ssots.config import Settings
from ssots.errors import SsotsError
from ssots.events import Event
from ssots.jobs.redact import redact
from ssots.services.runs import record_run
from ssots.services.schedules import scheduled_dataset
from ssots.services.training import save_weights, train_run
from ssots.spec import JobStatus, RunSpec
from ssots.store import Database, open_database
from ssots.store.home import not_writable
from ssots.store.jobs import (
    Attempt,
    JobLostError,
    JobStore,
    NewEvent,
)
from ssots.store.runs import RunStore

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 0.1
"""Seconds between a job's database writes: at most about 10 writes a second however fast
epochs are; the epochs in between are written together."""

SUMMARY_KEYS = ("metrics", "baselines", "dimensions", "parameters", "evidence")
"""The parts of the weights document a status poll shows."""

TUNING_KINDS = frozenset({"trial", "refit"})
"""Job kinds of a tuning study (``jobs.trials``)."""

WORKER_NICENESS = 5
"""Training yields the CPU to the API process, which keeps answering under load."""


class JobCancelledError(Exception):
    """Raised from the event sink to stop a run whose cancellation was requested."""


class JobEventWriter:
    """Receives a run's ``Event``s and writes them with the job's progress, at most once
    per ``interval`` seconds; checks for a cancel request at each write.

    Args:
        store: where the job lives.
        attempt: the attempt whose writes are fenced by its claim.
        interval: least seconds between writes.
        clock: monotonic seconds (tests pass a fake).
    """

    def __init__(
        self,
        store: JobStore,
        attempt: Attempt,
        *,
        interval: float = FLUSH_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.attempt = attempt
        self.interval = interval
        self.clock = clock
        self.pending: list[NewEvent] = []
        self.progress: dict[str, Any] = {"last_seq": attempt.last_seq}
        self._last_write = -math.inf

    def __call__(self, event: Event) -> None:
        """Buffer ``event``; write the buffer when ``interval`` has passed.

        Raises:
            JobCancelledError: cancellation was requested.
            JobLostError: the job is no longer this attempt's.
        """
        data = {key: _json_number(value) for key, value in event.data.items()}
        seq = self.progress["last_seq"] + 1
        self.pending.append(NewEvent(seq=seq, kind=event.kind, data=data))
        self.progress["last_seq"] = seq
        if event.kind == "stage":
            self.progress.update(stage=data["stage"], message=data["stage"])
        else:
            self.progress.update(
                epoch=data["epoch"],
                epochs=data["epochs"],
                train_loss=data["train_loss"],
                val_loss=data["val_loss"],
                message=f"training: epoch {data['epoch']} of {data['epochs']}",
            )
        if self.clock() - self._last_write >= self.interval:
            self.flush()

    def flush(self) -> None:
        """Write what is buffered now.

        Raises:
            JobCancelledError: cancellation was requested.
            JobLostError: the job is no longer this attempt's.
        """
        cancel_requested = self.store.write(self.attempt, self.pending, **self.progress)
        self.pending = []
        self._last_write = self.clock()
        if cancel_requested is not None:
            raise JobCancelledError(self.attempt.job_id)


def run_attempt(
    attempt: Attempt, settings: Settings, server_pid: int | None, threads: int = 1
) -> None:
    """Run one attempt in this process (a Ray task): limit its native threads, open the
    database by URL, run the attempt under its lease (``run_leased``).

    Args:
        attempt: the claimed job.
        settings: the server's settings (the worker opens its own database engine).
        server_pid: the serving process on this machine; the worker exits when it is
            gone (None: a cluster task, which outlives the server that started it).
        threads: native threads (BLAS, OpenMP, numba) this worker may use.
    """
    database = _prepare_process(settings, server_pid, threads)
    try:
        run_leased(attempt, JobStore(database), settings)
    finally:
        database.engine.dispose()


def serve_attempts(
    connection: Connection,
    settings: Settings,
    server_pid: int,
    threads: int = 1,
    *,
    attempts: int,
) -> None:
    """Entry point of a local worker process (``executor.LocalExecutor``): run the
    attempts received on ``connection`` one after another, answering each with whether
    this process now retires, until the pipe closes or ``attempts`` ran. The database
    engine and what the attempts cache (Optuna's storage, the compiled loops) stay warm
    in between.

    Args:
        connection: the worker's end of the pipe to the executor.
        settings: the server's settings.
        server_pid: the serving process; the worker exits when it is gone.
        threads: native threads (BLAS, OpenMP, numba) this worker may use.
        attempts: how many attempts to run before retiring.
    """
    # Ctrl-C in the server's terminal reaches its whole process group: the server ends
    # its workers itself (an idle one sees its pipe close; a busy one is killed and its
    # job recorded as interrupted).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    database = _prepare_process(settings, server_pid, threads)
    store = JobStore(database)
    if not connection.poll():  # (an attempt already waiting starts at once instead)
        from ssots.jobs.warmup import warm_process  # (preloaded: importing it runs nothing)

        warm_process()
    try:
        for count in range(1, attempts + 1):
            try:
                attempt = connection.recv()
            except EOFError:  # the executor closed the pipe: nothing more to run
                return
            run_leased(attempt, store, settings)
            connection.send(count == attempts)
    finally:
        database.engine.dispose()


def _prepare_process(settings: Settings, server_pid: int | None, threads: int) -> Database:
    """Set up a worker process once: its native threads, its exit with the server, its
    lower priority; the database engine it opens."""
    limit_threads(threads)
    if server_pid is not None:
        _exit_with(server_pid)
    niceness = os.nice(0)
    if niceness < WORKER_NICENESS:  # (a reused Ray worker process is already niced)
        os.nice(WORKER_NICENESS - niceness)
    return open_database(settings, migrate=False)


def run_leased(attempt: Attempt, store: JobStore, settings: Settings) -> None:
    """Run ``attempt`` to its end (``execute``) while a thread renews its lease."""
    done = threading.Event()
    heartbeat = threading.Thread(
        target=_heartbeat,
        args=(store, attempt, settings.lease_seconds, done),
        name="ssots-lease-heartbeat",
        daemon=True,
    )
    heartbeat.start()
    try:
        execute(attempt, store, settings)
    finally:
        done.set()
        heartbeat.join()


HEARTBEATS_PER_LEASE = 3
"""A worker renews its lease this many times per lease duration."""


def _heartbeat(
    store: JobStore, attempt: Attempt, lease_seconds: float, done: threading.Event
) -> None:
    """Renew the attempt's lease until ``done``; exit the process at once when the job was
    taken away (its lease expired and another worker may be running it)."""
    while not done.wait(lease_seconds / HEARTBEATS_PER_LEASE):
        try:
            owned = store.renew(attempt, lease_seconds)
        except Exception:  # the database is unreachable for now: try again next beat
            log.warning("job %s: could not renew the lease", attempt.job_id, exc_info=True)
            continue
        if not owned and not done.is_set():
            log.error("job %s: the lease was lost; this worker stops", attempt.job_id)
            os._exit(3)


def execute(attempt: Attempt, store: JobStore, settings: Settings) -> JobStatus | None:
    """Run ``attempt`` to its end and record the outcome.

    Jobs of the tuning kinds (``trial``, ``refit``) run by their entry in
    ``jobs.trials.KINDS``; every other kind (``train``, ``scheduled``) trains here.

    Returns:
        The final status written, or None when the job was no longer this attempt's.
    """
    kind = store.get(attempt.job_id).kind
    if kind in TUNING_KINDS:
        from ssots.jobs.trials import KINDS

        return KINDS[kind](attempt, store, settings)
    sink = JobEventWriter(store, attempt)
    try:
        spec = RunSpec.build(**attempt.spec)
        job = store.get(attempt.job_id)
        spec, files = scheduled_dataset(job.kind, job.request or {}, spec, settings)
        result = train_run(spec, settings, sink, files=files)
        try:
            weights = settings.runs_dir / attempt.job_id / "weights.json"
            path, document = save_weights(result, weights)
        except OSError as exc:  # the training is kept: its parameters go to the job's row
            message = str(not_writable(exc, "the weights file"))
            return _finish(
                store, sink, JobStatus.FAILED, message, **_job_results(weights_document(result))
            )
        record_run(RunStore(store.database), result, document, source="job", job_id=attempt.job_id)
    except JobLostError:
        return None
    except JobCancelledError:
        return _finish(store, sink, JobStatus.CANCELLED, "cancelled by request")
    except SsotsError as exc:
        return _finish(store, sink, JobStatus.FAILED, redact(str(exc)))
    except Exception as exc:
        log.error("job %s crashed:\n%s", attempt.job_id, redact(traceback.format_exc()))
        shown = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc  # no path
        message = redact(f"internal error: {type(exc).__name__}: {shown}")
        return _finish(store, sink, JobStatus.FAILED, message)
    stopped = " (early stopping)" if result.stopped_early else ""
    message = f"finished: best epoch {result.best_epoch} of {len(result.history)}{stopped}"
    return _finish(
        store,
        sink,
        JobStatus.SUCCEEDED,
        message,
        **_job_results(document),
        weights_path=str(path.relative_to(settings.home)),
    )


def _job_results(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The job row's ``result`` (the weights document without its loss history and
    without the server's file path of the data, with the native threads the worker ran
    on) and ``summary`` (what a status poll shows)."""
    result = {key: value for key, value in document.items() if key != "history"}
    result["data"] = {key: value for key, value in result["data"].items() if key != "path"}
    result["threads"] = thread_report()
    summary = {key: document.get(key) for key in SUMMARY_KEYS}
    return {"result": result, "summary": summary}


def _finish(
    store: JobStore, sink: JobEventWriter, status: JobStatus, message: str, **fields: Any
) -> JobStatus | None:
    progress = {key: value for key, value in sink.progress.items() if key != "message"}
    landed = store.finish(
        sink.attempt, sink.pending, status=status, message=message, **progress, **fields
    )
    return status if landed else None


def _json_number(value: Any) -> Any:
    """NaN and infinities are not JSON: they become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _exit_with(server_pid: int) -> None:
    """Exit this worker as soon as the server process ``server_pid`` is gone, so that a
    killed server leaves no worker training on (and writing) behind it."""

    def watch() -> None:
        try:
            handle = os.pidfd_open(server_pid)  # Linux: readable once the process exits
        except (AttributeError, OSError):
            while _alive(server_pid):
                time.sleep(0.5)
        else:
            select.select([handle], [], [])
        os._exit(1)

    threading.Thread(target=watch, name="ssots-server-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
