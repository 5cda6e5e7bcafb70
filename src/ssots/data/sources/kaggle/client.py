"""Calls into Kaggle's client libraries: retries, timeouts, search, download, auth check.

Every call gets its own kagglesdk client (``_client``): never verbose (a verbose client
prints whole requests, Authorization header included, to stdout), and with the retry
policy's timeouts on its own session. Nothing process-wide is changed: no patched
``requests``, no redirected stdout. Downloads use kagglehub's cache, MD5 integrity check
and progress bar. The libraries are imported inside the functions that use them.

Timeouts, 429 (honouring ``Retry-After``), 5xx, dropped connections, cut-off and corrupt
downloads are retried with exponential backoff (``RetryPolicy``), then reported.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from ssots.data.sources.kaggle.credentials import CredentialStatus, credential_status
from ssots.data.sources.kaggle.errors import SUMMARY, KaggleAuthError, classify, user_error
from ssots.data.sources.kaggle.handles import parse_handle
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


@contextlib.contextmanager
def _client(policy: RetryPolicy) -> Iterator[Any]:
    """A kagglesdk client for one call, with the credentials kagglehub would use.

    Built here rather than by ``kagglehub.clients.build_kaggle_client`` for two reasons,
    both scoped to this client and nothing else in the process: it is never ``verbose``
    (kagglehub turns that on for ``KAGGLE_API_ENVIRONMENT=TEST``, and a verbose client
    prints whole requests, Authorization header included, to stdout), and its session
    sends every request with the policy's timeout (a transport adapter mounted on this
    client's own ``requests.Session``; kagglehub's own auth check reaches the session
    the same way).
    """
    from kagglehub.clients import get_response_processor, get_user_agent
    from kagglehub.config import get_kaggle_credentials
    from kagglesdk import KaggleClient
    from kagglesdk.kaggle_env import get_env
    from requests.adapters import HTTPAdapter

    class TimeoutAdapter(HTTPAdapter):
        """Sends each request without a timeout with the policy's one."""

        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            if not args and kwargs.get("timeout") is None:
                kwargs["timeout"] = policy.timeout
            return super().send(request, *args, **kwargs)

    credentials = get_kaggle_credentials()
    client = KaggleClient(
        env=get_env(),
        verbose=False,
        username=credentials.username if credentials else None,
        password=credentials.key if credentials else None,
        api_token=credentials.api_key if credentials else None,
        user_agent=get_user_agent(),
        response_processor=get_response_processor() if credentials else None,
    )
    with client:
        adapter = TimeoutAdapter()
        session = client.http_client()._session  # no public accessor
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        yield client


class _QuietInfo(logging.Filter):
    """Drops kagglehub's INFO lines (cache paths, "Downloading to ...") logged inside
    this module's calls, unless ``KAGGLEHUB_VERBOSITY`` asks for them; records logged
    anywhere else pass untouched."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            _IN_CALL.get()
            and record.levelno < logging.WARNING
            and "KAGGLEHUB_VERBOSITY" not in os.environ
        )


_IN_CALL: ContextVar[bool] = ContextVar("ssots_kaggle_call", default=False)
_QUIET = _QuietInfo()


def _call(action: Callable[[Any], T], *, handle: str | None, retry: RetryPolicy | None) -> T:
    """Run ``action(client)`` with retries, a fresh call-scoped client per try; translate
    failures into KaggleError.

    Raises:
        KaggleAuthError: credentials missing, malformed or rejected.
        KaggleError: anything else Kaggle-side, after the retries.
    """
    policy = retry or DEFAULT_RETRY
    problem = credential_status().problem
    if problem:
        raise KaggleAuthError(f"cannot use the Kaggle credentials: {problem}")
    hub_logger = logging.getLogger("kagglehub")
    if _QUIET not in hub_logger.filters:
        hub_logger.addFilter(_QUIET)
    attempt = 1
    while True:
        token = _IN_CALL.set(True)
        try:
            with _client(policy) as client:
                return action(client)
        except Exception as exc:  # the libraries raise many types; unknown ones propagate
            failure = classify(exc)
            if failure is None:
                raise
            if not failure.transient or attempt >= policy.attempts:
                raise user_error(failure, handle, attempt) from None
        finally:
            _IN_CALL.reset(token)
        wait = policy.delay(attempt, failure.retry_after)
        attempt += 1
        _log.warning(
            "Kaggle: %s; retrying in %.1f s (attempt %d of %d)",
            SUMMARY[failure.kind].format(status=failure.status),
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

    def action(client: Any) -> list[Any]:
        from kagglesdk.datasets.types.dataset_api_service import ApiListDatasetsRequest

        request = ApiListDatasetsRequest()
        request.search = query
        request.page_size = limit
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
    """Ask Kaggle who the credentials in use belong to (the call ``kagglehub.whoami``
    makes: ``DiagnosticsService/Hello``) and so whether they are accepted.

    Raises:
        KaggleError: Kaggle could not be reached.
    """
    status = credential_status()
    if status.source is None or status.problem:
        return AuthCheck(status, None if status.source is None else False)

    def action(client: Any) -> Any:
        from kagglesdk.models.types.model_api_service import ApiGetModelRequest

        return client.http_client().call(
            "api.v1.DiagnosticsService", "Hello", ApiGetModelRequest(), _JsonBody
        )

    try:
        who = _call(action, handle=None, retry=retry)
    except KaggleAuthError:
        return AuthCheck(status, False)
    user = who.get("userName") if isinstance(who, dict) else None
    return AuthCheck(status, True, str(user)) if user else AuthCheck(status, False)


class _JsonBody:
    """A kagglesdk response type that is the JSON body as it came."""

    @staticmethod
    def prepare_from(response: Any) -> Any:
        return response.json()


def download(handle: str, *, force: bool = False, retry: RetryPolicy | None = None) -> Path:
    """Download (or reuse from kagglehub's cache) every file of ``handle``'s current
    version, as ``kagglehub.dataset_download`` does (its cache layout, its MD5 integrity
    check, resumption and progress bar), through this module's call-scoped client.

    Raises:
        ParameterError: not an owner/slug handle.
        KaggleError: not found, refused, or failed after the retries.
    """
    handle = parse_handle(handle)

    def action(client: Any) -> str:
        from kagglehub.cache import Cache
        from kagglehub.clients import download_file
        from kagglehub.handle import parse_dataset_handle
        from kagglesdk.datasets.types.dataset_api_service import (
            ApiDownloadDatasetRequest,
            ApiGetDatasetRequest,
        )

        datasets = client.datasets.dataset_api_client
        wanted = parse_dataset_handle(handle)
        current = ApiGetDatasetRequest()
        current.owner_slug, current.dataset_slug = wanted.owner, wanted.dataset
        versioned = wanted.with_version(datasets.get_dataset(current).current_version_number)
        cache = Cache()
        cached = cache.load_from_cache(versioned)
        if cached and not force:
            return cached
        if cached:
            cache.delete_from_cache(versioned)
        request = ApiDownloadDatasetRequest()
        request.owner_slug, request.dataset_slug = wanted.owner, wanted.dataset
        request.dataset_version_number = versioned.version
        archive = Path(cache.get_archive_path(versioned))
        archive.parent.mkdir(parents=True, exist_ok=True)
        download_file(datasets.download_dataset(request), str(archive), versioned)
        folder = cache.get_path(versioned)
        _extract(archive, Path(folder))
        archive.unlink()
        cache.mark_as_complete(versioned)
        return folder

    return Path(_call(action, handle=handle, retry=retry))


def _extract(archive: Path, folder: Path) -> None:
    """Unpack a downloaded archive (zip, or tar with the ``data`` filter)."""
    folder.mkdir(parents=True, exist_ok=True)
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as bundle:
            bundle.extractall(folder, filter="data")
    elif zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(folder)
    else:
        raise ValueError("Unsupported archive type.")
