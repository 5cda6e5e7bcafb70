"""Kaggle failures: the error types, what kind of failure a library exception is, and
the one message a user sees for it.

No secret is ever part of a message, log line or exception: library errors are
translated into messages built only from the status, the handle and file names.
"""

from __future__ import annotations

import contextlib
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

from ssots.data.sources.kaggle.credentials import HOW_TO_SET_CREDENTIALS, credential_status
from ssots.errors import UpstreamError


class KaggleError(UpstreamError):
    """Kaggle could not be reached or refused the request (the message says what to do)."""


class KaggleAuthError(KaggleError):
    """Kaggle credentials are needed but missing, malformed or rejected (401/403)."""


@dataclass(frozen=True)
class _Failure:
    kind: Literal["auth", "not_found", "refused", "busy", "server", "network", "cut", "corrupt"]
    status: int | None = None
    retry_after: float | None = None

    @property
    def transient(self) -> bool:
        return self.kind in ("busy", "server", "network", "cut", "corrupt")


def classify(exc: BaseException) -> _Failure | None:
    """What kind of failure a library exception is; None for unknown exceptions."""
    import requests
    from kagglehub.exceptions import DataCorruptionError

    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        status = exc.response.status_code
        kinds = {401: "auth", 403: "auth", 404: "not_found", 429: "busy"}
        kind = kinds.get(status, "server" if status >= 500 else "refused")
        return _Failure(kind, status, _retry_after(exc.response.headers.get("Retry-After")))
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return _Failure("cut")
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return _Failure("network")
    if isinstance(exc, requests.RequestException):
        return _Failure("server")
    if isinstance(exc, DataCorruptionError | zipfile.BadZipFile) or (
        isinstance(exc, ValueError) and str(exc) == "Unsupported archive type."
    ):
        return _Failure("corrupt")
    return None


SUMMARY = {
    "busy": "rate limited (HTTP {status})",
    "server": "server error (HTTP {status})",
    "network": "no answer (network error or timeout)",
    "cut": "the download was cut off",
    "corrupt": "the download failed its integrity check",
}


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    with contextlib.suppress(ValueError):
        return float(value)
    with contextlib.suppress(TypeError, ValueError):
        return (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
    return None


def user_error(failure: _Failure, handle: str | None, attempts: int) -> KaggleError:
    """The one message a user sees for a failure (no library text, so no secrets)."""
    what = f"the dataset {handle}" if handle else "this request"
    tries = f"{attempts} attempt" + ("s" if attempts > 1 else "")
    if failure.kind == "auth":
        return KaggleAuthError(_auth_message(failure.status, what))
    if failure.kind == "not_found" and handle:
        private = (
            ""
            if credential_status().source
            else ("; if it is private, set Kaggle credentials first")
        )
        return KaggleError(
            f"Kaggle has no dataset {handle} (HTTP 404 not found): check the handle "
            f"(owner/slug) or find one with `ssots data search WORDS`{private}"
        )
    if failure.kind in ("refused", "not_found"):
        return KaggleError(
            f"Kaggle refused {what} (HTTP {failure.status}); check the handle and options"
        )
    reason = SUMMARY[failure.kind].format(status=failure.status)
    advice = {
        "busy": "wait a minute, then run the command again",
        "server": "Kaggle may be down; try again later",
        "network": "check the network connection or proxy settings, then try again",
        "cut": "nothing was registered; run the command again",
        "corrupt": "nothing was registered; run the command again with --force",
    }[failure.kind]
    return KaggleError(f"Kaggle: {reason} for {what}, {tries}; {advice}")


def _auth_message(status: int | None, what: str) -> str:
    source = credential_status().source
    if source is None:
        return (
            f"Kaggle requires credentials for {what} (HTTP {status}) and none are set. "
            f"{HOW_TO_SET_CREDENTIALS}. `ssots train --demo-fallback` trains on "
            "synthetic demo data instead"
        )
    if status == 403:
        return (
            f"Kaggle refused {what} to the credentials from {source} (HTTP 403): the "
            "dataset may be private or need its terms accepted on kaggle.com, or the token "
            f"lacks permission. {HOW_TO_SET_CREDENTIALS}"
        )
    return (
        f"Kaggle rejected the credentials from {source} (HTTP {status}): they are wrong, "
        f"expired or revoked. {HOW_TO_SET_CREDENTIALS}"
    )
