"""``GET /api/health``: open to everyone, also when an API token is set."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from ssots import __version__
from ssots.errors import UnavailableError
from ssots.web.deps import ServicesDep
from ssots.web.errors import error_responses
from ssots.web.schemas import Health

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=Health,
    responses=error_responses(503),
    summary="Liveness: the service answers and its database too",
)
def health(services: ServicesDep) -> Health:
    """``{"status": "ok"}`` while the database answers; 503 otherwise."""
    try:
        with services.database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        raise UnavailableError("the database does not answer") from None
    return Health(status="ok", version=__version__)
