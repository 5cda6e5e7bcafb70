"""The FastAPI app: REST API under ``/api`` (OpenAPI at ``/openapi.json``, docs at
``/docs`` and ``/redoc``, served offline) and the job manager running beside it for the
app's lifetime.

The dashboard's pages (``web/pages.py`` with ``web/templates`` and ``web/static``) are
added to this same app by ``create_app``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI

from ssots import __version__
from ssots.config import Settings
from ssots.jobs import JobManager, make_executor
from ssots.jobs.scheduler import Scheduler, WebhookSender
from ssots.jobs.studies import StudyCoordinator
from ssots.store import open_database
from ssots.store.datasets import DatasetRegistry
from ssots.store.home import HomeLock, clean_scratch, locks_home
from ssots.store.jobs import JobStore
from ssots.store.registry import ModelRegistry
from ssots.store.runs import RunStore
from ssots.store.studies import StudyStore
from ssots.web.api import install_api
from ssots.web.api.health import HEALTH_THREADS
from ssots.web.deps import Services
from ssots.web.docs import DOC_PATHS, install_docs
from ssots.web.errors import install_error_handlers
from ssots.web.limits import StreamSlots
from ssots.web.pages import install_pages
from ssots.web.security import SecurityHeaders, TrustedHosts
from ssots.web.security import allowed_hosts as host_names

HANDLER_THREADS = 8
"""Threads running sync handlers at once (anyio's default is 40). Fewer than the
database pool's connections, so the event loop's own reads never wait for one, and few
enough that a burst of writes, which the database serialises anyway, does not crowd the
event loop out of the interpreter."""

DESCRIPTION = """Train interpretable Q-score models on crypto price history.

`POST /api/train` queues a training job (the earlier dashboard's body works unchanged);
`GET /api/train?jobId=` reports its progress and results. `/api/jobs` lists, follows (SSE)
and cancels jobs; `/api/datasets` lists, uploads and deletes datasets. With
`SSOTS_API_TOKEN` set, every route but `/api/health` needs `Authorization: Bearer <token>`.
Requests must name the server in `Host`; state-changing ones from another origin are refused.
"""


def create_app(
    settings: Settings | None = None,
    *,
    workers: int | None = None,
    threads_per_worker: int | None = None,
    allowed_hosts: Sequence[str] | None = None,
    home_lock: HomeLock | None = None,
) -> FastAPI:
    """Build the app: open (and migrate) the database, wire the routers, and run a job
    manager with ``workers`` local worker processes while the app is up.

    On an SQLite home the app runs under the home lock: ``home_lock`` when given (``ssots
    serve`` takes it before building the app), else one taken at start-up (refused with
    ``HomeLockedError`` if another server holds it). Under the lock, the scratch folder
    is emptied and jobs a dead server left running are recovered. On a shared database
    (PostgreSQL) several servers run side by side: each one's job manager claims jobs and
    reaps expired leases.

    Args:
        settings: where state lives and the service's limits (default: environment).
        workers: most jobs training at once (default: the number of cores; with the Ray
            executor, tasks in flight); 0 serves the API only (another process runs the
            jobs).
        threads_per_worker: native threads of each worker process (default: the cores
            divided among the workers, at least 1).
        allowed_hosts: the ``Host`` names answered (``*``: any); default: the loopback
            names and ``settings.allowed_hosts`` (``ssots serve`` adds the bound address).
        home_lock: the lock of ``settings.home``, already held by the caller.
    """
    settings = settings or Settings.from_env()
    hosts = host_names(settings.allowed_hosts) if allowed_hosts is None else allowed_hosts
    database = open_database(settings)
    store = JobStore(database, max_attempts=settings.max_attempts)
    workers = (os.cpu_count() or 1) if workers is None else workers
    manager = None
    if workers > 0:
        manager = JobManager(
            store,
            make_executor(settings, workers, threads_per_worker=threads_per_worker),
            requeue_interrupted=settings.requeue_interrupted,
            lease_seconds=settings.lease_seconds,
            recover_at_start=locks_home(settings),  # one server per SQLite home
            coordinators=[StudyCoordinator(settings, store, StudyStore(database))],
        )
    loops: list[Scheduler | WebhookSender] = []
    sender = None
    if settings.scheduler:
        sender = WebhookSender(settings, database)
        on_fire = manager.wake if manager is not None else None
        loops = [Scheduler(settings, database, on_fire=on_fire), sender]
    services = Services(
        settings=settings,
        database=database,
        jobs=store,
        datasets=DatasetRegistry(settings, database),
        runs=RunStore(database),
        models=ModelRegistry(database),
        manager=manager,
        sender=sender,
        health_threads=anyio.CapacityLimiter(HEALTH_THREADS),
        streams=StreamSlots(total=settings.max_streams, per_client=settings.max_streams_per_client),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = HANDLER_THREADS
        taken = None
        if home_lock is None and locks_home(settings):
            taken = HomeLock.acquire(settings.home)
        if home_lock is not None or taken is not None:
            clean_scratch(settings.home)  # what a crashed server left mid-upload
        try:
            if manager is not None:
                await anyio.to_thread.run_sync(manager.start)  # recovery: under the lock
            for loop in loops:
                loop.start()
            yield
        finally:
            for loop in loops:
                await anyio.to_thread.run_sync(loop.stop)
            if manager is not None:
                await anyio.to_thread.run_sync(manager.stop)
            database.engine.dispose()
            if taken is not None:
                taken.release()

    app = FastAPI(
        title="SSO-TS",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # install_docs serves /docs and /redoc from local files
        redoc_url=None,
    )
    app.state.services = services
    install_error_handlers(app)
    install_api(app, settings)
    install_pages(app)
    install_docs(app)
    app.add_middleware(TrustedHosts, hosts=list(hosts))
    app.add_middleware(SecurityHeaders, docs_paths=DOC_PATHS)  # outermost: every answer
    return app
