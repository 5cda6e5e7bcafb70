"""Scale-out: 500 tiny training jobs drained from one PostgreSQL database by 1 and then by 2
``ssots worker`` processes (one job at a time each, one native thread per job).

Throughput is jobs / (last finish - first start), read from the job rows, so the
workers' own start-up is not counted. Also counts jobs run more than once (attempts > 1
or more than one tracked run per job): it must be 0.

Uses the PostgreSQL server at SSOTS_TEST_POSTGRES_URL, or starts a throw-away cluster
as the tests do (``tests/postgres_support.py``; as the ``postgres`` user when root).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_scale.py [--jobs 500]

The last line: ``jobs/s 1 worker X, 2 workers Y, ratio Y/X (target >= 1.7 on 2 cores),
run twice N``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import postgres_support  # noqa: E402  (the tests' cluster machinery, one copy)

SPEC = {"dataset": "demo", "epochs": 1, "demo_days": 200}
"""A tiny job: the whole pipeline (features, one epoch, calibration, baselines, books,
the tracked run), in a fraction of a second."""


def queue(store: Any, limit: int) -> str:
    """Queue one tiny job; its id."""
    return store.create(spec=SPEC, request={}, queue_limit=limit + 1).id


def wait_drained(store: Any) -> None:
    """Return once no job is queued or running."""
    while store.list(status="queued")[1] or store.list(status="running")[1]:
        time.sleep(0.2)


def drain(url: str, jobs: int, workers: int, home: Path) -> tuple[float, int]:
    """Start ``workers`` ``ssots worker`` processes, let each run a warm-up job or two,
    then queue ``jobs`` tiny jobs and wait until all have ended; jobs per second (first
    start to last finish of those jobs) and how many ran more than once."""
    from sqlalchemy import func, select

    from ssots.config import Settings
    from ssots.store import open_database
    from ssots.store.jobs import JobStore
    from ssots.store.tables import JobRow, RunRow

    settings = Settings.from_env({"SSOTS_HOME": str(home), "SSOTS_DATABASE_URL": url})
    store = JobStore(open_database(settings))
    env = {**os.environ, "SSOTS_HOME": str(home), "OPENBLAS_NUM_THREADS": "1"}
    command = [
        sys.executable, "-m", "ssots", "worker", "--database-url", url,
        "--concurrency", "1", "--threads-per-worker", "1",
    ]  # fmt: skip
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    try:
        warm_up = [queue(store, jobs) for _ in range(2 * workers)]  # every worker ready
        wait_drained(store)
        measured = [queue(store, jobs) for _ in range(jobs)]
        wait_drained(store)
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        for process in processes:
            process.wait(60)
    ids = JobRow.id.in_(measured)
    assert not set(warm_up) & set(measured)
    with store.database.engine.connect() as connection:
        first, last = connection.execute(
            select(func.min(JobRow.started_at), func.max(JobRow.finished_at)).where(ids)
        ).one()
        failed = connection.scalar(select(func.count()).where(JobRow.status != "succeeded"))
        retried = connection.scalar(select(func.count()).where(JobRow.attempts > 1))
        doubled = connection.scalar(
            select(func.count()).select_from(
                select(RunRow.job_id).group_by(RunRow.job_id).having(func.count() > 1).subquery()
            )
        )
    store.database.engine.dispose()
    if failed:
        raise SystemExit(f"{failed} job(s) did not succeed with {workers} worker(s)")
    seconds = (last - first).total_seconds()
    print(f"{workers} worker(s): {jobs} jobs in {seconds:.1f} s", flush=True)
    return jobs / seconds, int(retried or 0) + int(doubled or 0)


def main() -> None:
    """Measure and print the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    jobs = parser.parse_args().jobs
    given = os.environ.get(postgres_support.SERVER_URL_VARIABLE)
    cluster = None
    if not given:
        binaries = postgres_support.find_binaries()
        if binaries is None:
            raise SystemExit("PostgreSQL is not installed (no initdb/pg_ctl)")
        cluster = postgres_support.Cluster(binaries)
    databases = postgres_support.Databases(given or cluster.url)
    try:
        rates, twice = {}, 0
        for workers in (1, 2):
            with tempfile.TemporaryDirectory() as home:
                url = databases.url_for(home)
                rates[workers], doubled = drain(url, jobs, workers, Path(home))
                twice += doubled
    finally:
        databases.drop_all()
        if cluster is not None:
            cluster.stop()
    print(
        f"jobs/s 1 worker {rates[1]:.2f}, 2 workers {rates[2]:.2f}, "
        f"ratio {rates[2] / rates[1]:.2f} (target >= 1.7 on 2 cores), run twice {twice}"
    )


if __name__ == "__main__":
    main()
