"""What the server accepts before a handler runs: ASGI middleware that refuses requests
from the wrong place, and headers every response carries.

- ``TrustedHosts``: the ``Host`` header must name the server (its loopback names, the
  address it is bound to, ``--allowed-hosts``): a page of another site whose name was
  made to resolve to 127.0.0.1 (DNS rebinding) gets 400 and no data. Starlette's
  ``TrustedHostMiddleware`` decides; its refusal is answered as JSON.
- ``RequestGuard``, for every request that changes state (POST, PUT, PATCH, DELETE):
  an ``Origin`` other than the server's own, or ``Sec-Fetch-Site: cross-site`` (or
  ``same-site``), is refused with 403 (a browser sends them; curl and scripts send
  neither, and pass); a body must be ``application/json``, or ``multipart/form-data`` on
  the upload route (415 otherwise). With an API token configured, a request to a
  protected route without it gets 401 before a byte of its body is read. A body whose
  next chunk does not arrive within ``BODY_READ_TIMEOUT`` seconds is answered 408.
- ``SecurityHeaders``: ``X-Frame-Options: DENY``, a Content-Security-Policy with
  ``frame-ancestors 'none'`` (no page of the server can be framed, scripts only from the
  server itself), ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy``.

Every refusal is JSON ``{"detail": message}``, as the API's other errors are.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from email.message import Message as MimeHeader
from urllib.parse import urlsplit

import anyio
from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
"""``Host`` names a server on any address answers (a loopback bind answers only these)."""
WILDCARD_BINDS = ("0.0.0.0", "::", "[::]", "")
"""Bind addresses that name no host (every interface)."""
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
"""Methods a cross-site request must not use."""
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
"""Bodies an upload route reads (FastAPI parses both; a file needs the first)."""
BODY_READ_TIMEOUT = 30.0
"""Seconds a request body may stall between two chunks before the server answers 408."""

_SELF = "'self'"
_POLICY = {
    "default-src": _SELF,
    "script-src": _SELF,
    "style-src": f"{_SELF} 'unsafe-inline'",  # Plotly styles its charts inline
    "img-src": f"{_SELF} data: blob:",
    "font-src": f"{_SELF} data:",
    "connect-src": _SELF,
    "worker-src": f"{_SELF} blob:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": _SELF,
    "frame-ancestors": "'none'",
}
PAGE_POLICY = "; ".join(f"{name} {value}" for name, value in _POLICY.items())
"""The Content-Security-Policy of every response: nothing but the server's own files."""
DOCS_POLICY = PAGE_POLICY.replace(f"script-src {_SELF}", f"script-src {_SELF} 'unsafe-inline'")
"""The policy of ``/docs`` and ``/redoc``, whose pages start Swagger UI and ReDoc with an
inline script (FastAPI's page templates)."""


def allowed_hosts(extra: Iterable[str] = (), *, bind: str = "127.0.0.1") -> list[str]:
    """The ``Host`` names a server bound to ``bind`` answers: its loopback names, ``bind``
    itself unless it is loopback or a wildcard (0.0.0.0, ::), and ``extra`` (``*``: any).

    Names are compared without the port (Starlette's rule): the port of a ``Host`` header
    is always the server's own, so it tells nothing about who sent the request."""
    hosts = list(LOOPBACK_HOSTS)
    named = bind.strip().lower()
    if named not in WILDCARD_BINDS:
        named = f"[{named}]" if ":" in named and not named.startswith("[") else named
        extra = [named, *extra]
    for host in extra:
        name = host.strip().lower()
        if name and name not in hosts:
            hosts.append(name)
    return hosts


class ApiToken:
    """The server's API token, compared in constant time.

    Args:
        token: the token clients send as ``Authorization: Bearer <token>``.
    """

    def __init__(self, token: str) -> None:
        self._expected = _digest(token)

    def accepts(self, authorization: str | None) -> bool:
        """True when ``authorization`` (an ``Authorization`` header) carries the token."""
        scheme, _, given = (authorization or "").partition(" ")
        valid = scheme.lower() == "bearer" and bool(given)
        return hmac.compare_digest(_digest(given.strip()), self._expected) and valid


MISSING_TOKEN = (
    "missing or wrong API token: send the header `Authorization: Bearer <token>` with the "
    "server's SSOTS_API_TOKEN"
)


def _digest(text: str) -> bytes:
    """Equal-length digests, so the comparison does not reveal the token's length."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


async def _refuse(
    scope: Scope, receive: Receive, send: Send, status: int, detail: str, **headers: str
) -> None:
    named = {name.replace("_", "-"): value for name, value in headers.items()}
    await JSONResponse({"detail": detail}, status, headers=named or None)(scope, receive, send)


class SecurityHeaders:
    """ASGI middleware adding the security headers to every HTTP response.

    Args:
        app: the wrapped application.
        docs_paths: paths answered with ``DOCS_POLICY`` instead of ``PAGE_POLICY``.
    """

    def __init__(self, app: ASGIApp, *, docs_paths: Sequence[str] = ()) -> None:
        self.app = app
        self.docs_paths = frozenset(docs_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to its answer."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_POLICY if scope["path"] in self.docs_paths else PAGE_POLICY

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Frame-Options"] = "DENY"
                headers["Content-Security-Policy"] = policy
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
            await send(message)

        await self.app(scope, receive, send_with_headers)


_ADMITTED = "ssots.trusted_host"
"""Scope key set once Starlette's host check let the request through."""


class TrustedHosts:
    """ASGI middleware answering only requests whose ``Host`` is one of ``hosts``
    (Starlette's ``TrustedHostMiddleware``); any other gets 400 JSON.

    Args:
        app: the wrapped application.
        hosts: accepted names (see ``allowed_hosts``); ``*`` accepts any.
    """

    def __init__(self, app: ASGIApp, *, hosts: Sequence[str]) -> None:
        self.app = app
        self.check = TrustedHostMiddleware(self._admit, allowed_hosts=hosts, www_redirect=False)

    async def _admit(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[_ADMITTED] = True
        await self.app(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Let Starlette check the host; answer its refusal as JSON."""
        if scope["type"] != "http":
            await self.check(scope, receive, send)
            return
        refused = False

        async def answer(message: Message) -> None:
            nonlocal refused
            if refused:
                return  # Starlette's plain-text body of the refusal
            if message["type"] == "http.response.start" and not scope.get(_ADMITTED):
                refused = True
                host = Headers(scope=scope).get("host", "")
                await _refuse(
                    scope,
                    receive,
                    send,
                    400,
                    f"this server does not answer for the host {host[:100]!r}: use "
                    "http://127.0.0.1:PORT, or start it with `ssots serve --allowed-hosts "
                    "NAME` (SSOTS_ALLOWED_HOSTS)",
                )
                return
            await send(message)

        await self.check(scope, receive, answer)


class RequestGuard:
    """ASGI middleware refusing cross-site state changes, bodies of the wrong type and
    requests without the API token (before reading their body); it also bounds how long
    a body may stall.

    Args:
        app: the wrapped application.
        token: the API token, or None when the API is open.
        protected: whether a path needs the token.
        form_paths: paths whose body is ``multipart/form-data`` (every other body must be
            JSON).
        body_timeout: seconds a body may stall between chunks.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: ApiToken | None,
        protected: Callable[[str], bool],
        form_paths: Sequence[str] = (),
        body_timeout: float = BODY_READ_TIMEOUT,
    ) -> None:
        self.app = app
        self.token = token
        self.protected = protected
        self.form_paths = frozenset(form_paths)
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse the request, or pass it on with a receive that times out stalls."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if (
            self.token is not None
            and self.protected(scope["path"])
            and not self.token.accepts(headers.get("authorization"))
        ):
            await _refuse(scope, receive, send, 401, MISSING_TOKEN, WWW_Authenticate="Bearer")
            return
        if scope["method"] not in STATE_CHANGING:
            await self.app(scope, receive, send)
            return
        refusal = self.cross_site(headers) or self.wrong_body(
            scope["method"], scope["path"], headers
        )
        if refusal is not None:
            await _refuse(scope, receive, send, *refusal)
            return
        await self.app(scope, self.timed(receive), send)

    @staticmethod
    def cross_site(headers: Headers) -> tuple[int, str] | None:
        """403 when the browser says the request comes from another site or origin."""
        fetch_site = headers.get("sec-fetch-site", "").lower()
        origin = headers.get("origin")
        if fetch_site in ("cross-site", "same-site"):
            return 403, f"cross-origin request refused (Sec-Fetch-Site: {fetch_site})"
        if origin is None:
            return None
        parts = urlsplit(origin.strip().lower())
        host = headers.get("host", "").lower()
        if parts.scheme in ("http", "https") and parts.netloc == host and host:
            return None
        return 403, (
            f"cross-origin request refused: Origin {origin[:100]!r} is not this server "
            f"({host[:100]!r}); state-changing requests come from the dashboard, curl or "
            "scripts"
        )

    def wrong_body(self, method: str, path: str, headers: Headers) -> tuple[int, str] | None:
        """415 for a body that is not JSON (or a POST to an upload route not a form)."""
        given = headers.get("content-type", "")
        if method == "POST" and path in self.form_paths:
            if _media_type(given) in FORM_TYPES:
                return None
            expected = "multipart/form-data"
        else:
            has_body = headers.get("content-length", "0") not in ("", "0") or (
                "transfer-encoding" in headers
            )
            if not has_body or _media_type(given) == "application/json":
                return None
            expected = "application/json"
        return 415, f"send the body as {expected} (the request's Content-Type is {given[:100]!r})"

    def timed(self, receive: Receive) -> Receive:
        """``receive`` answering 408 when the body stalls for ``body_timeout`` seconds
        (once the body is complete, waiting for a disconnect is not limited)."""
        complete = False

        async def receive_in_time() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            try:
                with anyio.fail_after(self.body_timeout):
                    message = await receive()
            except TimeoutError:
                # Transport, not a domain case (see limits.UploadLimit): an HTTPException
                # is the one error FastAPI lets through while it reads a body.
                raise HTTPException(
                    408, f"the request body stalled for {self.body_timeout:g} s"
                ) from None
            complete = message["type"] != "http.request" or not message.get("more_body")
            return message

        return receive_in_time


def _media_type(content_type: str) -> str:
    """``type/subtype`` of a Content-Type header, lowercase (``+json`` types as JSON)."""
    header = MimeHeader()
    header["content-type"] = content_type
    media = header.get_content_type()
    return "application/json" if media.endswith("+json") else media
