"""Errors as JSON ``{"detail": ...}``: an ``SsotsError`` gets the HTTP status of its row in
``ssots.errors.ERROR_CODES`` and its message (never a 500); an ``InvalidFieldsError`` lists
one issue per field, shaped like FastAPI's validation errors. Secrets are redacted from
every message."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from ssots.errors import InvalidFieldsError, SsotsError, error_code
from ssots.jobs.redact import redact
from ssots.web.schemas import ErrorBody

RETRY_AFTER_SECONDS = 5
"""What a 429 (queue full) asks the client to wait before retrying."""

_HEADERS: dict[int, dict[str, str]] = {
    401: {"WWW-Authenticate": "Bearer"},
    429: {"Retry-After": str(RETRY_AFTER_SECONDS)},
}
"""Headers an answer with the status carries."""

_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing or wrong API token",
    404: "Not found",
    409: "Conflict with the resource's state",
    413: "Upload too large",
    422: "Invalid request: one issue per field, or the reason the data cannot be used",
    429: "Job queue full: retry after the Retry-After seconds",
    502: "Kaggle could not be reached or refused the request",
    503: "The database does not answer",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error ``codes`` an operation can answer."""
    return {code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]} for code in codes}


def stream_error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``error_responses`` of an event-stream operation: its errors are JSON all the same
    (FastAPI would document a ``model`` under the route's own media type)."""
    schema = {"$ref": f"#/components/schemas/{ErrorBody.__name__}"}
    return {
        code: {
            "description": _DESCRIPTIONS[code],
            "content": {"application/json": {"schema": schema}},
        }
        for code in codes
    }


def error_response(exc: SsotsError) -> JSONResponse:
    """The answer to ``exc``: its table row's status, its message as ``detail``."""
    status = error_code(exc).http
    detail: Any = redact(str(exc))
    if isinstance(exc, InvalidFieldsError):
        detail = [
            {"type": issue.kind, "loc": ["body", issue.field], "msg": redact(issue.message)}
            for issue in exc.issues
        ]
    return JSONResponse({"detail": detail}, status_code=status, headers=_HEADERS.get(status))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn errors into 4xx JSON."""

    async def user_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, SsotsError)
        return error_response(exc)

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
