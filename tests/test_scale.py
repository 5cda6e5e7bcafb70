"""Several ``ssots serve`` processes and ``ssots worker`` processes on one PostgreSQL
database: every job runs exactly once, and a server killed mid-job has its job taken
over by another once the lease expires."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

import postgres_support
from ssots.store import open_database
from ssots.store.jobs import JobStore
from ssots.store.tables import RunRow
from web_support import FAST, Server, make_settings, submit, wait_finished, wait_for

pytestmark = pytest.mark.slow

LEASE = "5"
"""Seconds of a lease where a test waits for one to expire: a killed server's job is free
again soon (and a loaded machine still renews leases in time). The other tests keep the
default (30 s): a lease that expires there is a failure."""
JOBS = int(os.environ.get("SSOTS_TEST_SCALE_JOBS", "200"))


@pytest.fixture
def shared(postgres_server: str) -> Iterator[dict[str, str]]:
    """The environment of processes sharing one fresh PostgreSQL database."""
    databases = postgres_support.Databases(postgres_server)
    url = databases.create()
    databases.by_home["shared"] = url  # dropped with the others at the end
    yield {
        "SSOTS_DATABASE_URL": url,
        "SSOTS_QUEUE_LIMIT": str(JOBS + 10),
        "OPENBLAS_NUM_THREADS": "1",
    }
    databases.drop_all()


def runs_per_job(url: str) -> dict[str, int]:
    settings = make_settings(Path("/nonexistent-home"), database_url=url)
    database = open_database(settings, migrate=False)
    with database.engine.connect() as connection:
        rows = connection.execute(
            select(RunRow.job_id, func.count()).group_by(RunRow.job_id)
        ).all()
    database.engine.dispose()
    return dict(rows)


def store_of(url: str) -> JobStore:
    return JobStore(open_database(make_settings(Path("/nonexistent-home"), database_url=url)))


def test_two_servers_run_each_of_200_jobs_exactly_once(
    tmp_path: Path, shared: dict[str, str]
) -> None:
    with (
        Server(tmp_path / "a", env=shared) as first,
        Server(tmp_path / "b", env=shared) as second,
    ):
        ids = [
            submit((first, second)[n % 2].client, **{**FAST, "epochs": 1}) for n in range(JOBS)
        ]
        assert len(set(ids)) == JOBS
        for job_id in ids:
            assert wait_finished(first.client, job_id, timeout=600)["status"] == "success"
        owners = {first.process.pid: 0, second.process.pid: 0}
        store = store_of(shared["SSOTS_DATABASE_URL"])
        for job_id in ids:
            row = store.get(job_id)
            assert row.attempts == 1, row
            owners[int(row.owner.rsplit(":", 1)[1])] += 1
        store.database.engine.dispose()
    assert all(count > 0 for count in owners.values()), owners  # both servers worked
    assert runs_per_job(shared["SSOTS_DATABASE_URL"]) == dict.fromkeys(ids, 1)


def test_a_killed_servers_job_is_taken_over_when_its_lease_expires(
    tmp_path: Path, shared: dict[str, str]
) -> None:
    shared = {**shared, "SSOTS_LEASE_SECONDS": LEASE}
    doomed = Server(tmp_path / "a", env=shared)
    try:
        job_id = submit(doomed.client, demoDays=200, epochs=20_000, patience=20_000)
        store = store_of(shared["SSOTS_DATABASE_URL"])
        wait_for(lambda: store.get(job_id).epoch > 0)
        assert store.get(job_id).owner.endswith(f":{doomed.process.pid}")
        with Server(tmp_path / "b", env=shared) as survivor:
            doomed.kill()
            killed_at = time.monotonic()
            status = wait_finished(survivor.client, job_id, timeout=300)
            assert status["status"] == "success", status
            row = store.get(job_id)
            assert row.attempts == 2
            assert row.owner.endswith(f":{survivor.process.pid}")
            assert time.monotonic() - killed_at >= float(LEASE) - 1  # waited for the lease
        assert runs_per_job(shared["SSOTS_DATABASE_URL"]) == {job_id: 1}
        store.database.engine.dispose()
    finally:
        if doomed.process.poll() is None:
            doomed.kill()


def test_ssots_worker_runs_jobs_queued_through_an_api_only_server(
    tmp_path: Path, shared: dict[str, str]
) -> None:
    with Server(tmp_path / "api", env=shared, workers=0) as api:
        ids = [submit(api.client, **{**FAST, "epochs": 1}) for _ in range(4)]
        env = {**os.environ, "SSOTS_HOME": str(tmp_path / "w"), **shared}
        url = env.pop("SSOTS_DATABASE_URL")
        worker = subprocess.Popen(
            [sys.executable, "-m", "ssots", "worker", "--database-url", url, "--concurrency", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            finished: list[dict[str, Any]] = [
                wait_finished(api.client, job_id, timeout=300) for job_id in ids
            ]
        finally:
            worker.send_signal(signal.SIGINT)
            _, errors = worker.communicate(timeout=60)
        assert [status["status"] for status in finished] == ["success"] * 4
        assert worker.returncode == 0, errors.decode()
        assert b"running up to 2 job(s)" in errors
        store = store_of(url)
        owners = {store.get(job_id).owner for job_id in ids}
        assert owners == {owner for owner in owners if owner.endswith(f":{worker.pid}")}
        store.database.engine.dispose()
        assert httpx.get(f"{api.url}/api/health").status_code == 200


def test_servers_starting_together_migrate_a_fresh_database_once(
    shared: dict[str, str],
) -> None:
    import threading

    errors: list[Exception] = []

    def open_it() -> None:
        try:
            settings = make_settings(Path("/nonexistent-home"), **_fields(shared))
            open_database(settings).engine.dispose()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "the migrations deadlocked"
    assert errors == []


def _fields(env: dict[str, str]) -> dict[str, str]:
    return {"database_url": env["SSOTS_DATABASE_URL"]}
