"""Calls into Kaggle's client libraries: retries, timeouts, search, download, auth check.

``kagglesdk`` serves search and ``kagglehub`` downloads (its cache, its MD5 integrity
check, its progress bar) and the credentials check. Both are imported inside the
functions that use them. Library output on stdout (kagglesdk prints whole requests,
Authorization header included, when ``KAGGLE_API_ENVIRONMENT`` selects a test endpoint)
is discarded.

Timeouts, 429 (honouring ``Retry-After``), 5xx, dropped connections, cut-off and corrupt
downloads are retried with exponential backoff (``RetryPolicy``), then reported.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from ssots.data.kaggle.credentials import CredentialStatus, credential_status
from ssots.data.kaggle.errors import (
    _SUMMARY,
    KaggleAuthError,
    _classify,
    _user_error,
)
from ssots.data.kaggle.handles import parse_handle
from ssots.errors import ParameterError

T = TypeVar("T")
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How Kaggle calls are retried.

    Attributes:
        attempts: tries in all, the first included.
        base_delay: seconds before the first retry; doubled for each further one.
        max_delay: longest wait between tries (also caps ``Retry-After``).
        timeout: (connect, read) seconds for each HTTP request.
    """

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    timeout: tuple[float, float] = (10.0, 60.0)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed try number ``attempt``."""
        wanted = self.base_delay * 2 ** (attempt - 1) if retry_after is None else retry_after
        return min(max(wanted, 0.0), self.max_delay)


DEFAULT_RETRY = RetryPolicy()


_TIMEOUT: ContextVar[tuple[float, float] | None] = ContextVar("ssots_kaggle_timeout", default=None)


@functools.cache
def _kagglehub() -> ModuleType:
    """Import kagglehub once: quiet its INFO logging (unless KAGGLEHUB_VERBOSITY asks for
    it) and give requests without a timeout the one of the current Kaggle call."""
    import kagglehub
    from requests.adapters import HTTPAdapter

    if "KAGGLEHUB_VERBOSITY" not in os.environ:
        logging.getLogger("kagglehub").setLevel(logging.WARNING)
    send = HTTPAdapter.send

    def send_with_timeout(self: HTTPAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
        # kagglesdk sends API calls without a timeout; only calls made inside
        # _library_scope get one (the context variable is None everywhere else).
        if not args and kwargs.get("timeout") is None:
            kwargs["timeout"] = _TIMEOUT.get()
        return send(self, request, *args, **kwargs)

    HTTPAdapter.send = send_with_timeout  # type: ignore[method-assign]
    return kagglehub


@contextlib.contextmanager
def _library_scope(policy: RetryPolicy) -> Iterator[None]:
    """Run library code with request timeouts and with its stdout discarded (kagglesdk
    prints requests with their Authorization header in test environments). Redirecting
    stdout is process-wide: other threads' prints are lost meanwhile."""
    token = _TIMEOUT.set(policy.timeout)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        _TIMEOUT.reset(token)


def _call(action: Callable[[], T], *, handle: str | None, retry: RetryPolicy | None) -> T:
    """Run a library call with retries; translate its failures into KaggleError.

    Raises:
        KaggleAuthError: credentials missing, malformed or rejected.
        KaggleError: anything else Kaggle-side, after the retries.
    """
    policy = retry or DEFAULT_RETRY
    problem = credential_status().problem
    if problem:
        raise KaggleAuthError(f"cannot use the Kaggle credentials: {problem}")
    _kagglehub()
    attempt = 1
    while True:
        try:
            with _library_scope(policy):
                return action()
        except Exception as exc:  # the libraries raise many types; unknown ones propagate
            failure = _classify(exc)
            if failure is None:
                raise
            if not failure.transient or attempt >= policy.attempts:
                raise _user_error(failure, handle, attempt) from None
        wait = policy.delay(attempt, failure.retry_after)
        attempt += 1
        _log.warning(
            "Kaggle: %s; retrying in %.1f s (attempt %d of %d)",
            _SUMMARY[failure.kind].format(status=failure.status),
            wait,
            attempt,
            policy.attempts,
        )
        time.sleep(wait)


@dataclass(frozen=True)
class SearchHit:
    """One dataset found by ``search``."""

    handle: str
    title: str
    size_bytes: int | None
    updated: datetime | None
    votes: int


def search(query: str, *, limit: int = 20, retry: RetryPolicy | None = None) -> list[SearchHit]:
    """Search Kaggle datasets live through kagglesdk.

    Raises:
        ParameterError: empty query or limit outside 1..100.
        KaggleError: Kaggle could not answer.
    """
    if not query.strip():
        raise ParameterError("pass words to search for, e.g. `ssots data search bitcoin ohlcv`")
    if not 1 <= limit <= 100:
        raise ParameterError(f"`--limit` must be between 1 and 100, got {limit}")

    def action() -> list[Any]:
        from kagglehub.clients import build_kaggle_client
        from kagglesdk.datasets.types.dataset_api_service import ApiListDatasetsRequest

        request = ApiListDatasetsRequest()
        request.search = query
        request.page_size = limit
        with build_kaggle_client() as client:
            return client.datasets.dataset_api_client.list_datasets(request).datasets

    return [
        SearchHit(
            handle=item.ref,
            title=item.title or item.ref,
            size_bytes=item.total_bytes,
            updated=item.last_updated,
            votes=item.vote_count,
        )
        for item in _call(action, handle=None, retry=retry)[:limit]
    ]


@dataclass(frozen=True)
class AuthCheck:
    """What ``check_credentials`` found: the source, and whether Kaggle accepts it
    (``accepted`` is None when there was nothing to check)."""

    status: CredentialStatus
    accepted: bool | None
    user: str | None = None


def check_credentials(*, retry: RetryPolicy | None = None) -> AuthCheck:
    """Ask Kaggle (``kagglehub.whoami``) whether the credentials in use are accepted.

    Raises:
        KaggleError: Kaggle could not be reached.
    """
    status = credential_status()
    if status.source is None or status.problem:
        return AuthCheck(status, None if status.source is None else False)
    hub = _kagglehub()
    try:
        who = _call(lambda: hub.whoami(verbose=False), handle=None, retry=retry)
    except KaggleAuthError:
        return AuthCheck(status, False)
    return AuthCheck(status, True, str(who.get("username")))


def download(handle: str, *, force: bool = False, retry: RetryPolicy | None = None) -> Path:
    """Download (or reuse from kagglehub's cache) every file of ``handle``.

    Raises:
        ParameterError: not an owner/slug handle.
        KaggleError: not found, refused, or failed after the retries.
    """
    handle, hub = parse_handle(handle), _kagglehub()
    return Path(
        _call(
            lambda: hub.dataset_download(handle, force_download=force), handle=handle, retry=retry
        )
    )
