"""The job system without HTTP: the store's state changes, the throttled event sink, an
attempt run in-process, and the manager's reaping, cancellation and recovery."""

from __future__ import annotations

import json
import os
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from ssots.errors import DataError, QueueFullError
from ssots.events import Event
from ssots.jobs import JobManager, LocalExecutor, worker
from ssots.jobs.redact import redact
from ssots.store import open_database
from ssots.store.jobs import (
    CANCELLED,
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    Attempt,
    JobLostError,
    JobStore,
    now,
)
from ssots.store.tables import JobRow
from web_support import make_settings, wait_for

pytestmark = pytest.mark.usefixtures("backend")  # on SQLite and PostgreSQL

SPEC = {"dataset": "demo", "epochs": 5, "demo_days": 200}


@pytest.fixture
def settings(tmp_path: Path) -> Any:
    return make_settings(tmp_path / "home")


@pytest.fixture
def store(settings: Any) -> JobStore:
    return JobStore(open_database(settings))


def queue(store: JobStore, spec: dict[str, Any] | None = None, limit: int = 100) -> str:
    return store.create(spec=spec or SPEC, request={}, queue_limit=limit).id


def test_queue_limit_holds_under_concurrent_submissions(store: JobStore) -> None:
    outcomes: list[str] = []

    def submit() -> None:
        try:
            queue(store, limit=5)
            outcomes.append("queued")
        except QueueFullError:
            outcomes.append("full")

    threads = [threading.Thread(target=submit) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("queued") == 5
    assert outcomes.count("full") == 35
    assert store.list(status=QUEUED)[1] == 5


def test_claims_oldest_first_and_fences_stale_attempts(store: JobStore) -> None:
    first, second = queue(store), queue(store)
    attempt = store.claim_next()
    assert attempt is not None
    assert attempt.job_id == first
    assert store.get(first).status == RUNNING
    assert store.interrupt(requeue=False) == [first]
    with pytest.raises(JobLostError):
        store.write(attempt, [], epoch=1)
    row = store.get(first)
    assert (row.status, row.message) == (FAILED, "interrupted by server restart")
    assert store.claim_next().job_id == second


def test_requeue_keeps_event_numbering_and_drops_the_lost_attempts_events(
    store: JobStore,
) -> None:
    job_id = queue(store)
    attempt = store.claim_next()
    sink = worker.JobEventWriter(store, attempt)
    sink(Event("stage", {"stage": "training"}))
    assert store.interrupt(requeue=True) == [job_id]
    row = store.get(job_id)
    assert (row.status, row.last_seq, row.started_at) == (QUEUED, 1, None)
    assert store.events_after(job_id, 0) == []
    retry = store.claim_next()
    assert (retry.last_seq, store.get(job_id).attempts) == (1, 2)


def test_cancel_queued_at_once_running_by_flag(store: JobStore) -> None:
    running, waiting = queue(store), queue(store)
    worker.JobEventWriter(store, store.claim_next())(Event("stage", {"stage": "training"}))
    assert store.request_cancel(waiting).status == CANCELLED
    flagged = store.request_cancel(running)
    assert flagged.status == RUNNING
    assert flagged.cancel_requested_at is not None
    assert list(store.cancel_requests([running, waiting])) == [running]
    assert store.interrupt(requeue=True) == [running]
    assert store.get(running).status == CANCELLED  # a cancel request wins over re-queueing
    assert len(store.events_after(running, 0)) == 1  # and keeps its events


def expire(store: JobStore, job_id: str) -> None:
    """Move the job's lease into the past, as if its worker stopped renewing it."""
    with store.database.session() as session:
        session.execute(
            update(JobRow)
            .where(JobRow.id == job_id)
            .values(lease_expires_at=now() - timedelta(seconds=1))
        )


def test_claims_carry_a_lease_that_the_heartbeat_renews(store: JobStore) -> None:
    job_id = queue(store)
    attempt = store.claim_next(lease_seconds=60, owner="host:1")
    row = store.get(job_id)
    assert (row.owner, row.max_attempts) == ("host:1", 3)
    assert 50 < (row.lease_expires_at - now()).total_seconds() <= 60
    assert store.renew(attempt, 600)
    assert (store.get(job_id).lease_expires_at - now()).total_seconds() > 500
    assert store.reap_expired() == {}  # a live lease is left alone
    assert store.finish(attempt, [], status=SUCCEEDED, message="done")
    assert not store.renew(attempt)  # a finished attempt holds nothing
    assert store.get(job_id).lease_expires_at is None


def test_an_expired_lease_requeues_and_the_stale_worker_cannot_write(store: JobStore) -> None:
    job_id = queue(store)
    stale = store.claim_next()
    worker.JobEventWriter(store, stale)(Event("stage", {"stage": "training"}))
    expire(store, job_id)
    assert store.reap_expired() == {job_id: QUEUED}
    assert store.reap_expired() == {}  # a second reaper finds nothing
    row = store.get(job_id)
    assert (row.status, row.claim, row.last_seq) == (QUEUED, None, 1)
    assert row.message.startswith("re-queued: lease expired")
    assert store.events_after(job_id, 0) == []
    fresh = store.claim_next()
    assert fresh.claim != stale.claim
    with pytest.raises(JobLostError):
        store.write(stale, [], epoch=3)
    assert not store.renew(stale)
    assert not store.finish(stale, [], status=SUCCEEDED, message="stale")
    assert store.finish(fresh, [], status=SUCCEEDED, message="done")
    assert (store.get(job_id).status, store.get(job_id).attempts) == (SUCCEEDED, 2)


def test_the_attempt_limit_fails_a_job_whose_workers_keep_getting_lost(store: JobStore) -> None:
    job_id = store.create(spec=SPEC, request={}, queue_limit=10, max_attempts=2).id
    for expected in (QUEUED, FAILED):
        store.claim_next()
        expire(store, job_id)
        assert store.reap_expired() == {job_id: expected}
    row = store.get(job_id)
    assert row.attempts == 2
    assert row.message.endswith("(no attempts left)")
    cancelled = queue(store)
    store.claim_next()
    store.request_cancel(cancelled)
    expire(store, cancelled)
    assert store.reap_expired() == {cancelled: CANCELLED}


def test_concurrent_claimers_take_each_job_exactly_once(store: JobStore) -> None:
    jobs = {queue(store) for _ in range(30)}
    taken: list[str] = []

    def claimer() -> None:
        while (attempt := store.claim_next()) is not None:
            taken.append(attempt.job_id)

    threads = [threading.Thread(target=claimer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == sorted(jobs)
    assert all(store.get(job_id).attempts == 1 for job_id in jobs)


def test_claims_can_be_limited_to_some_kinds(store: JobStore) -> None:
    other = store.create(spec=SPEC, request={}, queue_limit=10, kind="trial").id
    train = queue(store)
    assert store.claim_next(kinds=("train",)).job_id == train
    attempt = store.claim_next()
    assert (attempt.job_id, attempt.kind) == (other, "trial")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_sink_writes_at_most_ten_times_a_second_and_loses_no_event(store: JobStore) -> None:
    job_id = queue(store)
    attempt = store.claim_next()
    clock = FakeClock()
    writes = []
    original = store.write

    def counting_write(*args: Any, **kwargs: Any) -> Any:
        writes.append(clock.now)
        return original(*args, **kwargs)

    store.write = counting_write  # type: ignore[method-assign]
    sink = worker.JobEventWriter(store, attempt, clock=clock)
    for epoch in range(1, 2001):  # 2,000 epochs in 2 s of fake time
        clock.now = epoch / 1000
        sink(
            Event(
                "epoch",
                {
                    "epoch": epoch,
                    "epochs": 2000,
                    "train_loss": 1.0 / epoch,
                    "val_loss": float("nan"),
                },
            )
        )
    sink.flush()
    assert len(writes) <= 2 * 10 + 2
    events = store.events_after(job_id, 0, limit=5000)
    assert [e.seq for e in events] == list(range(1, 2001))
    assert events[-1].data["val_loss"] is None  # NaN is not JSON
    assert store.get(job_id).epoch == 2000


def test_attempt_succeeds_with_results_and_weights_file(store: JobStore, settings: Any) -> None:
    job_id = queue(store)
    attempt = store.claim_next()
    assert worker.execute(attempt, store, settings) == SUCCEEDED
    row = store.get(job_id)
    assert row.status == SUCCEEDED
    assert row.claim is None
    assert row.finished_at is not None
    document = json.loads((settings.home / row.weights_path).read_text())
    assert document["schema"] == "ssots.weights/2"
    assert row.result["parameters"] == document["parameters"]
    assert "history" not in row.result
    assert "path" not in row.result["data"]
    assert set(row.summary) == {"metrics", "baselines", "dimensions", "parameters", "evidence"}
    assert row.summary["evidence"]["verdict"] == document["evidence"]["verdict"]
    kinds = [event.kind for event in store.events_after(job_id, 0, limit=5000)]
    assert kinds.count("epoch") == len(document["history"])
    assert kinds[0] == "stage"


def test_cancel_request_stops_the_attempt(store: JobStore, settings: Any) -> None:
    job_id = queue(store, {**SPEC, "epochs": 100_000, "patience": 100_000})
    attempt = store.claim_next()
    store.request_cancel(job_id)
    assert worker.execute(attempt, store, settings) == CANCELLED
    row = store.get(job_id)
    assert (row.status, row.message, row.weights_path) == (CANCELLED, "cancelled by request", None)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            DataError("no such dataset: the key is s3cr3t-kaggle-key"),
            "no such dataset: the key is ***",
        ),
        (RuntimeError("boom s3cr3t-kaggle-key"), "internal error: RuntimeError: boom ***"),
    ],
)
def test_failures_are_recorded_without_secrets(
    store: JobStore,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    expected: str,
) -> None:
    monkeypatch.setenv("KAGGLE_KEY", "s3cr3t-kaggle-key")

    def failing_run(spec: Any, settings: Any, on_event: Any, *, files: bool) -> None:
        raise error

    monkeypatch.setattr(worker, "train_run", failing_run)
    job_id = queue(store)
    assert worker.execute(store.claim_next(), store, settings) == FAILED
    assert store.get(job_id).message == expected


def test_redact_leaves_short_settings_alone() -> None:
    env = {"KAGGLE_USERNAME": "alice-k", "SSOTS_API_TOKEN": "tok-123456", "KAGGLE_X": "1"}
    assert redact("alice-k used tok-123456 with 1 key", env) == "*** used *** with 1 key"


class FakeExecutor:
    """Runs nothing: attempts 'run' until the test ends or kills them."""

    capacity = 1

    def __init__(self) -> None:
        self.started: list[Attempt] = []
        self.live: dict[str, Attempt] = {}
        self.exit_codes: dict[str, int] = {}
        self.killed: list[str] = []

    def start(self, attempt: Attempt) -> None:
        self.started.append(attempt)
        self.live[attempt.job_id] = attempt

    def running(self) -> list[Attempt]:
        return list(self.live.values())

    def end(self, job_id: str, exit_code: int | None) -> None:
        self.exit_codes[job_id] = exit_code

    def reap(self) -> list[tuple[Attempt, int | None]]:
        ended = [(self.live.pop(job_id), code) for job_id, code in self.exit_codes.items()]
        self.exit_codes = {}
        return ended

    def kill(self, job_id: str) -> None:
        self.killed.append(job_id)
        self.end(job_id, -9)

    def close(self) -> None:
        for job_id in list(self.live):
            self.kill(job_id)


def test_manager_dispatches_up_to_capacity_and_reaps_dead_workers(store: JobStore) -> None:
    first, second = queue(store), queue(store)
    executor = FakeExecutor()
    manager = JobManager(store, executor)
    manager.tick()
    assert [a.job_id for a in executor.started] == [first]
    executor.end(first, -9)
    manager.tick()
    assert store.get(first).status == FAILED
    assert "exit code -9" in store.get(first).message
    assert [a.job_id for a in executor.started] == [first, second]


def test_manager_retries_a_job_whose_worker_was_lost(store: JobStore) -> None:
    job_id = queue(store)
    executor = FakeExecutor()
    manager = JobManager(store, executor)
    manager.tick()
    executor.end(job_id, None)  # e.g. a Ray task whose worker process died
    manager.tick()
    assert [a.job_id for a in executor.started] == [job_id, job_id]
    assert store.get(job_id).attempts == 2


def test_manager_reaps_expired_leases_of_other_processes(store: JobStore) -> None:
    job_id = queue(store)
    store.claim_next(owner="a-dead-server:1")
    expire(store, job_id)
    executor = FakeExecutor()
    JobManager(store, executor).tick()
    assert [a.job_id for a in executor.started] == [job_id]  # re-queued, then claimed here
    assert store.get(job_id).owner.endswith(f":{os.getpid()}")


def test_manager_kills_a_worker_that_ignores_cancellation(store: JobStore) -> None:
    job_id = queue(store)
    executor = FakeExecutor()
    manager = JobManager(store, executor)
    manager.tick()
    store.request_cancel(job_id)
    manager.tick()
    assert executor.killed == []  # it has a second to stop by itself
    with store.database.session() as session:
        session.execute(
            update(JobRow)
            .where(JobRow.id == job_id)
            .values(cancel_requested_at=now() - timedelta(seconds=5))
        )
    manager.tick()
    assert executor.killed == [job_id]
    assert store.get(job_id).status == CANCELLED


@pytest.mark.parametrize("requeue", [False, True])
def test_start_recovers_jobs_left_running(store: JobStore, requeue: bool) -> None:
    job_id = queue(store)
    store.claim_next()
    manager = JobManager(store, FakeExecutor(), requeue_interrupted=requeue)
    manager.start()
    manager.stop()
    row = store.get(job_id)
    if requeue:  # (re-queued at start, and again at stop if it was dispatched meanwhile)
        assert row.status == QUEUED
        assert row.message.startswith("re-queued: interrupted")
    else:
        assert (row.status, row.message) == (FAILED, "interrupted by server restart")


def test_stop_ends_running_jobs_as_interrupted(store: JobStore) -> None:
    job_id = queue(store)
    executor = FakeExecutor()
    manager = JobManager(store, executor)
    manager.start()
    manager.tick()
    manager.stop()
    assert executor.killed == [job_id]
    row = store.get(job_id)
    assert (row.status, row.message) == (FAILED, "interrupted by server shutdown")


def test_local_executor_runs_reaps_and_kills_worker_processes(
    store: JobStore,
    settings: Any,
) -> None:
    quick = queue(store)
    slow = queue(store, {**SPEC, "epochs": 100_000, "patience": 100_000})
    executor = LocalExecutor(settings, capacity=2)
    try:
        executor.start(store.claim_next())
        executor.start(store.claim_next())
        wait_for(lambda: store.get(slow).epoch > 0)
        executor.kill(slow)
        ended: dict[str, int | None] = {}

        def both_ended() -> bool:
            ended.update((attempt.job_id, code) for attempt, code in executor.reap())
            return len(ended) == 2

        wait_for(both_ended)
    finally:
        executor.close()
    assert ended == {quick: 0, slow: -9}
    assert store.get(quick).status == SUCCEEDED
    assert store.get(slow).status == RUNNING  # recording the kill is the manager's part


def _worker_pids() -> list[int]:
    import multiprocessing

    return [p.pid for p in multiprocessing.active_children() if p.name == "ssots-worker"]


def _run_to_end(executor: LocalExecutor, store: JobStore) -> tuple[str, int | None]:
    """Start the next queued job on ``executor``; its id and exit code once reaped."""
    executor.start(store.claim_next())
    ended: list[tuple[Any, int | None]] = []

    def reaped() -> bool:
        ended.extend(executor.reap())
        return bool(ended)

    wait_for(reaped)
    ((attempt, code),) = ended
    return attempt.job_id, code


def test_local_executor_keeps_its_worker_process_between_attempts_then_retires_it(
    store: JobStore, settings: Any
) -> None:
    jobs = [queue(store) for _ in range(4)]
    executor = LocalExecutor(settings, capacity=1, attempts_per_worker=3)
    try:
        assert _run_to_end(executor, store) == (jobs[0], 0)
        first = _worker_pids()
        assert len(first) == 1
        assert _run_to_end(executor, store) == (jobs[1], 0)
        assert _worker_pids() == first  # the same process ran the second attempt
        assert _run_to_end(executor, store) == (jobs[2], 0)
        wait_for(lambda: _worker_pids() == [])  # three attempts: that worker retired
        assert _run_to_end(executor, store) == (jobs[3], 0)
        second = _worker_pids()
        assert len(second) == 1
        assert second != first  # a fresh process took its place
    finally:
        executor.close()
    assert [store.get(job_id).status for job_id in jobs] == [SUCCEEDED] * 4
    wait_for(lambda: _worker_pids() == [])  # closing let the idle worker exit


def test_local_executor_starts_its_workers_together_at_the_first_attempt(
    store: JobStore, settings: Any
) -> None:
    job_id = queue(store)
    executor = LocalExecutor(settings, capacity=2)
    try:
        assert _worker_pids() == []  # none before there is work
        assert _run_to_end(executor, store) == (job_id, 0)
        assert len(_worker_pids()) == 2  # the second waits, warm, for the next attempt
    finally:
        executor.close()
    wait_for(lambda: _worker_pids() == [])
