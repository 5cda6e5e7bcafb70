"""``GET /api/health``: open to everyone, also when an API token is set.

Its database check runs in a thread of its own small pool, not in the pool the other
handlers share: a burst of submissions that keeps every shared thread busy (waiting for
the database's write lock) does not make health checks wait behind it."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from ssots import __version__
from ssots.store.db import DatabaseUnreadableError, translate
from ssots.store.home import home_writable
from ssots.web.deps import Services, ServicesDep
from ssots.web.schemas import Health

router = APIRouter(tags=["health"])

HEALTH_THREADS = 2
"""Health checks running at once (each one a ``SELECT 1``)."""


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "Degraded: see `detail`"}},
    summary="Liveness: the service answers, its database too, and its home can be written",
)
async def health(services: ServicesDep) -> Any:
    """The checks of ``check_health`` in threads of their own, so that health answers
    while the handlers' thread pool is busy."""
    return await anyio.to_thread.run_sync(check_health, services, limiter=services.health_threads)


def check_health(services: Services) -> Any:
    """``{"status": "ok", "database": true, "home_writable": true}`` while the database
    answers a query and a file can be written into ``SSOTS_HOME``; otherwise 503 with
    ``"status": "degraded"``, the failing part false and ``detail`` saying what is wrong
    (a damaged database, a read-only or full home)."""
    problems = []
    database = True
    try:
        with services.database.engine.connect() as connection:
            connection.execute(text("SELECT id FROM jobs LIMIT 1"))  # reads the schema too
    except Exception as exc:
        database = False
        damaged = isinstance(translate(exc, "file"), DatabaseUnreadableError)
        problems.append("the database is damaged" if damaged else "the database does not answer")
    writable = home_writable(services.settings.home)
    if not writable:
        problems.append("files cannot be written into SSOTS_HOME (read-only or full)")
    if not problems:
        return Health(status="ok", version=__version__, database=True, home_writable=True)
    body = Health(
        status="degraded",
        version=__version__,
        database=database,
        home_writable=writable,
        detail="; ".join(problems),
    )
    return JSONResponse(body.model_dump(), status_code=503)
