"""Errors as JSON ``{"detail": ...}``: an ``SsotsError`` gets the HTTP status of its row in
``ssots.errors.ERROR_CODES`` and its message (never a 500); an ``InvalidFieldsError`` lists
one issue per field, shaped like FastAPI's validation errors. Secrets are redacted from
every message.

A request FastAPI cannot validate answers 422 with one issue per field (400 when its body
is not JSON at all). An issue echoes at most ``ECHO_CHARS`` characters of the value it
refused, and only a string, a whole number, a finite number, a boolean or null: NaN,
Infinity, 1e309, a lone surrogate or a megabyte of text come back as a short, valid
JSON string or not at all.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

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

ECHO_CHARS = 40
"""Most characters of a refused value an error echoes."""
MESSAGE_CHARS = 2000
"""Most characters of an error message."""
MAX_ISSUES = 50
"""Most issues one answer lists."""
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
"""Methods a 405's ``Allow`` header may list."""

_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing or wrong API token",
    403: "Cross-origin request refused (Origin or Sec-Fetch-Site names another site)",
    404: "Not found",
    409: "Conflict with the resource's state",
    413: "Upload too large",
    415: "Body of the wrong type: JSON (uploads: multipart/form-data)",
    422: "Invalid request: one issue per field, or the reason the data cannot be used",
    429: "Job queue full, or too many event streams open: retry after the Retry-After seconds",
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
    detail: Any = safe_text(redact(str(exc)), MESSAGE_CHARS)
    if isinstance(exc, InvalidFieldsError):
        detail = [
            {
                "type": issue.kind,
                "loc": ["body", safe_text(issue.field, ECHO_CHARS)],
                "msg": safe_text(redact(issue.message), MESSAGE_CHARS),
            }
            for issue in exc.issues[:MAX_ISSUES]
        ]
    return JSONResponse({"detail": detail}, status_code=status, headers=_HEADERS.get(status))


def safe_text(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (marked with an ellipsis), lone surrogates
    written as ``\\udXXX`` escapes: a string any JSON encoder and UTF-8 accept."""
    cut = text if len(text) <= limit else f"{text[:limit]}\u2026"
    return cut.encode("utf-8", "backslashreplace").decode("utf-8")


def validation_issues(errors: list[Any]) -> list[dict[str, Any]]:
    """FastAPI's validation ``errors`` as JSON-safe issues with short echoes."""
    issues = []
    for error in errors[:MAX_ISSUES]:
        issue: dict[str, Any] = {
            "type": str(error.get("type", "invalid")),
            "loc": [
                part if isinstance(part, int) else safe_text(str(part), ECHO_CHARS)
                for part in error.get("loc", ())
            ],
            "msg": safe_text(redact(str(error.get("msg", ""))), MESSAGE_CHARS),
        }
        if (echo := _echo(error.get("input"))) is not _UNSHOWN:
            issue["input"] = echo
        context = {key: _echo(value) for key, value in (error.get("ctx") or {}).items()}
        context = {key: value for key, value in context.items() if value is not _UNSHOWN}
        if context:
            issue["ctx"] = context
        issues.append(issue)
    return issues


_UNSHOWN = object()
"""What ``_echo`` returns for a value it leaves out."""


def _echo(value: Any) -> Any:
    """A short JSON-safe echo of ``value``, or ``_UNSHOWN``."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else safe_text(str(value), ECHO_CHARS)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return safe_text(redact(value), ECHO_CHARS)
    if isinstance(value, Exception):
        return safe_text(redact(str(value)), ECHO_CHARS * 5)
    return _UNSHOWN


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn errors into 4xx JSON."""

    async def user_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, SsotsError)
        return error_response(exc)

    async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = list(exc.errors())
        malformed = any(error.get("type") == "json_invalid" for error in errors)
        return JSONResponse(
            {"detail": validation_issues(errors)}, status_code=400 if malformed else 422
        )

    async def method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"detail": "Method Not Allowed"},
            status_code=405,
            headers={"Allow": ", ".join(allowed_methods(request, exc))},
        )

    app.add_exception_handler(SsotsError, user_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(405, method_not_allowed)


def allowed_methods(request: Request, exc: Exception) -> list[str]:
    """The methods some route of the app serves at the request's path (never empty).

    A path served by several routes (GET and POST /api/train) allows all their methods,
    not only those of the first route that matched; a mount (``/static``) serves files:
    GET and HEAD."""
    allowed: set[str] = set()
    for route in request.app.router.routes:
        for method in METHODS:
            if route.matches({**request.scope, "method": method})[0] is Match.FULL:
                allowed |= {"GET", "HEAD"} if isinstance(route, Mount) else {method}
    if not allowed and isinstance(exc, StarletteHTTPException) and exc.headers:
        allowed = {m.strip() for m in exc.headers.get("Allow", "").split(",") if m.strip()}
    return [method for method in METHODS if method in allowed] or ["GET", "HEAD"]
