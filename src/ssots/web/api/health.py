"""``GET /api/health``: open to everyone, also when an API token is set."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from ssots import __version__
from ssots.store.db import DatabaseUnreadableError, translate
from ssots.store.home import home_writable
from ssots.web.deps import ServicesDep
from ssots.web.schemas import Health

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "Degraded: see `detail`"}},
    summary="Liveness: the service answers, its database too, and its home can be written",
)
def health(services: ServicesDep) -> Any:
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
