"""Errors as JSON ``{"detail": ...}``: user errors (``SsotsError``) become 4xx with their
message, never 500; secrets are redacted from every message."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from ssots.errors import DataError, ParameterError, SpecError, SsotsError
from ssots.jobs.redact import redact
from ssots.store.jobs import JobNotFoundError, QueueFullError
from ssots.web.schemas import ErrorBody

RETRY_AFTER_SECONDS = 5
"""What a 429 (queue full) asks the client to wait before retrying."""

_STATUS: tuple[tuple[type[SsotsError], int], ...] = (
    (JobNotFoundError, 404),
    (QueueFullError, 429),
    (DataError, 422),
    (ParameterError, 422),
)

_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing or wrong API token",
    404: "Not found",
    409: "Conflict with the resource's state",
    413: "Upload too large",
    422: "Invalid request: one issue per field, or the reason the data cannot be used",
    429: "Job queue full: retry after the Retry-After seconds",
    503: "The database does not answer",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error ``codes`` an operation can answer."""
    return {code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]} for code in codes}


def _detail(exc: Exception) -> dict[str, Any]:
    """The body of a user error: one issue per field for run settings, else the message."""
    if isinstance(exc, SpecError):
        issues = [
            {"loc": ["body", field], "msg": redact(message), "type": "value_error"}
            for field, message in exc.issues
        ]
        return {"detail": issues}
    return {"detail": redact(str(exc))}


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn errors into 4xx JSON."""

    async def user_error(request: Request, exc: Exception) -> JSONResponse:
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 429 else None
        return JSONResponse(_detail(exc), status_code=status, headers=headers)

    async def method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
        # A path served by several routes (GET and POST /api/train) allows all their
        # methods, not only those of the first route that matched the path.
        allowed = sorted(
            {
                method
                for route in request.app.routes
                if isinstance(route, APIRoute) and route.path_regex.match(request.url.path)
                for method in route.methods
            }
        )
        return JSONResponse(
            {"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": ", ".join(allowed)}
        )

    app.add_exception_handler(SsotsError, user_error)
    app.add_exception_handler(405, method_not_allowed)
