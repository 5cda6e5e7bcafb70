"""``GET /api/health``: open to everyone, also when an API token is set.

Its database check runs in a thread of its own small pool, not in the pool the other
handlers share: a burst of submissions that keeps every shared thread busy (waiting for
the database's write lock) does not make health checks wait behind it."""

from __future__ import annotations

import anyio
from fastapi import APIRouter
from sqlalchemy import text

from ssots import __version__
from ssots.errors import UnavailableError
from ssots.store import Database
from ssots.web.deps import ServicesDep
from ssots.web.errors import error_responses
from ssots.web.schemas import Health

router = APIRouter(tags=["health"])

HEALTH_THREADS = 2
"""Health checks running at once (each one a ``SELECT 1``)."""


@router.get(
    "/health",
    response_model=Health,
    responses=error_responses(503),
    summary="Liveness: the service answers and its database too",
)
async def health(services: ServicesDep) -> Health:
    """``{"status": "ok"}`` while the database answers; 503 otherwise."""
    await anyio.to_thread.run_sync(ping, services.database, limiter=services.health_threads)
    return Health(status="ok", version=__version__)


def ping(database: Database) -> None:
    """Run ``SELECT 1``.

    Raises:
        UnavailableError: the database does not answer.
    """
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        raise UnavailableError("the database does not answer") from None
