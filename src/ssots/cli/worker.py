"""``ssots worker``: claim and run jobs from a shared database without serving the API,
on the same code path as the server's local pool (a ``JobManager`` with a
``LocalExecutor``): claims in one statement, leases renewed by the worker processes,
expired leases reaped."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from ssots.cli._app import app, err_console


@app.command("worker")
def worker_command(
    database_url: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="The shared database, e.g. postgresql+psycopg://ssots@db/ssots "
            "(default: SSOTS_DATABASE_URL).",
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Jobs training at once (default: cores)."),
    ] = None,
    threads_per_worker: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Native threads (BLAS, OpenMP, numba) of each job "
            "(default: max(1, cores // concurrency)).",
        ),
    ] = None,
) -> None:
    """Run queued jobs from the database until stopped (Ctrl-C or SIGTERM).

    Any number of workers and servers may share one PostgreSQL database: each job runs
    once, and the jobs of a worker that dies are taken over by the others when its lease
    (SSOTS_LEASE_SECONDS) expires. Weights files go under this machine's SSOTS_HOME.
    """
    import os

    from ssots.cli.serve import settings_with
    from ssots.jobs import JobManager, LocalExecutor
    from ssots.store import open_database
    from ssots.store.jobs import JobStore

    settings = settings_with(database_url=database_url)
    concurrency = concurrency or os.cpu_count() or 1
    database = open_database(settings)
    manager = JobManager(
        JobStore(database, max_attempts=settings.max_attempts),
        LocalExecutor(settings, concurrency, threads_per_worker=threads_per_worker),
        requeue_interrupted=settings.requeue_interrupted,
        lease_seconds=settings.lease_seconds,
        recover_at_start=False,  # other processes' jobs may be running: the reaper decides
    )
    stopping = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stopping.set())
    manager.start()
    err_console.print(
        f"ssots worker {manager.owner}: running up to {concurrency} job(s) at once; "
        "Ctrl-C stops"
    )
    try:
        while not stopping.wait(1.0):
            pass
    finally:
        manager.stop()
        database.engine.dispose()
