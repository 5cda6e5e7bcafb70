"""Kaggle: live search, download, file selection and registration, with safe credentials.

Everything goes through Kaggle's own client libraries: ``kagglesdk`` for search and
``kagglehub`` for downloads (its cache, its MD5 integrity check, its progress bar) and for
checking credentials. Both are imported inside the functions that use them.

Credentials are the libraries' own, in their order: ``KAGGLE_API_TOKEN`` (a token, or the
path of a file holding one), ``~/.kaggle/access_token``, ``KAGGLE_USERNAME`` plus
``KAGGLE_KEY``, then ``kaggle.json`` in ``KAGGLE_CONFIG_DIR`` or ``~/.kaggle``. Public
datasets download without any. No secret is ever part of a message, log line, exception,
registry row or file written here: library errors are translated into messages built only
from the status, the handle and file names; library output on stdout (kagglesdk prints
whole requests, Authorization header included, when ``KAGGLE_API_ENVIRONMENT`` selects a
test endpoint) is discarded.

Timeouts, 429 (honouring ``Retry-After``), 5xx, dropped connections, cut-off and corrupt
downloads are retried with exponential backoff (``RetryPolicy``), then reported. A download
is registered only after it completed, passed the integrity check and loaded as OHLCV.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import logging
import os
import re
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any, Literal, TypeVar

from ssots.config import Settings
from ssots.data.catalog import catalog_entry
from ssots.data.datasets import KAGGLE, DatasetRecord, DatasetRegistry
from ssots.data.loader import load
from ssots.errors import DataError, ParameterError, SsotsError

T = TypeVar("T")
_log = logging.getLogger(__name__)

HOW_TO_SET_CREDENTIALS = (
    "Set KAGGLE_API_TOKEN to an API token from https://www.kaggle.com/settings/api, or set "
    "KAGGLE_USERNAME and KAGGLE_KEY, or save kaggle.json in ~/.kaggle (chmod 600); "
    "`ssots data auth-check` shows which source is in use"
)


class KaggleError(SsotsError):
    """Kaggle could not be reached or refused the request (the message says what to do)."""


class KaggleAuthError(KaggleError):
    """Kaggle credentials are needed but missing, malformed or rejected (401/403)."""


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


# ------------------------------------------------------------------ credentials


@dataclass(frozen=True)
class CredentialStatus:
    """Which credentials the Kaggle libraries will use; never the secret itself.

    Attributes:
        source: where they come from, e.g. "the KAGGLE_API_TOKEN environment variable";
            None when there are none.
        warnings: things to fix, e.g. a kaggle.json readable by other users.
        problem: why the credentials cannot be used at all (malformed kaggle.json), or None.
    """

    source: str | None
    warnings: tuple[str, ...] = ()
    problem: str | None = None


def credential_status() -> CredentialStatus:
    """Find the credentials the libraries will use, in their order of precedence."""
    token = os.environ.get("KAGGLE_API_TOKEN")
    if token:
        if _is_file(token):
            return _file_status(Path(token), f"the token file named by KAGGLE_API_TOKEN ({token})")
        return CredentialStatus("the KAGGLE_API_TOKEN environment variable")
    for name in ("access_token", "access_token.txt"):
        path = Path.home() / ".kaggle" / name
        if path.is_file() and path.read_text().strip():
            return _file_status(path, f"the access token file {path}")
    user, key = os.environ.get("KAGGLE_USERNAME"), os.environ.get("KAGGLE_KEY")
    if user and key:
        return CredentialStatus("the KAGGLE_USERNAME and KAGGLE_KEY environment variables")
    warnings = ()
    if user or key:
        warnings = (
            "only one of KAGGLE_USERNAME and KAGGLE_KEY is set; both are needed, so "
            "neither is used",
        )
    config = Path(os.environ.get("KAGGLE_CONFIG_DIR") or Path.home() / ".kaggle") / "kaggle.json"
    if not config.is_file():
        return CredentialStatus(None, warnings)
    status = _file_status(config, f"kaggle.json at {config}")
    return CredentialStatus(status.source, warnings + status.warnings, _kaggle_json_problem(config))


def _is_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except OSError:  # e.g. a token too long to be a file name
        return False


def _file_status(path: Path, source: str) -> CredentialStatus:
    mode = path.stat().st_mode & 0o777
    if mode & 0o044:
        return CredentialStatus(
            source,
            (f"{path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}`",),
        )
    return CredentialStatus(source)


def _kaggle_json_problem(path: Path) -> str | None:
    try:
        content = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        content = None
    if isinstance(content, dict) and content.get("username") and content.get("key"):
        return None
    return (
        f"{path} is not a JSON object with `username` and `key`; download a fresh "
        "kaggle.json from https://www.kaggle.com/settings/api, or remove the file"
    )


# ------------------------------------------------------------------ library access


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


@dataclass(frozen=True)
class _Failure:
    kind: Literal["auth", "not_found", "refused", "busy", "server", "network", "cut", "corrupt"]
    status: int | None = None
    retry_after: float | None = None

    @property
    def transient(self) -> bool:
        return self.kind in ("busy", "server", "network", "cut", "corrupt")


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


def _classify(exc: BaseException) -> _Failure | None:
    """What kind of failure a library exception is; None for unknown exceptions."""
    import requests
    from kagglehub.exceptions import DataCorruptionError, UnauthenticatedError

    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        status = exc.response.status_code
        kinds = {401: "auth", 403: "auth", 404: "not_found", 429: "busy"}
        kind = kinds.get(status, "server" if status >= 500 else "refused")
        return _Failure(kind, status, _retry_after(exc.response.headers.get("Retry-After")))
    if isinstance(exc, UnauthenticatedError):  # kagglehub.whoami wraps every failure
        cause = exc.__cause__
        return (
            _classify(cause)
            if isinstance(cause, requests.RequestException)
            else (_Failure("auth", 401))
        )
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


_SUMMARY = {
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


def _user_error(failure: _Failure, handle: str | None, attempts: int) -> KaggleError:
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
    reason = _SUMMARY[failure.kind].format(status=failure.status)
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


# ------------------------------------------------------------------ handles


_HANDLE = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
_URL_PREFIX = re.compile(r"^https?://(www\.)?kaggle\.com/datasets/")
_SYMBOL = re.compile(r"^[A-Za-z0-9]{1,15}$")


def parse_handle(text: str) -> str:
    """``owner/slug`` from a handle or a kaggle.com dataset URL.

    Raises:
        ParameterError: not of that form.
    """
    handle = _URL_PREFIX.sub("", text.strip()).strip("/")
    if not _HANDLE.match(handle):
        raise ParameterError(
            f"{text!r} is not a Kaggle dataset handle; pass owner/slug, e.g. "
            "sudalairajkumar/cryptocurrencypricehistory (`ssots data search` finds them)"
        )
    return handle


def parse_ref(ref: str) -> tuple[str, str | None, str | None]:
    """Split ``kaggle:OWNER/SLUG[/FILE][#SYMBOL]`` into (handle, file, symbol).

    Raises:
        ParameterError: malformed handle or symbol.
    """
    rest, _, symbol = ref.removeprefix(KAGGLE).partition("#")
    parts = rest.split("/", 2)
    handle = parse_handle("/".join(parts[:2]))
    file = parts[2] if len(parts) == 3 and parts[2] else None
    return handle, file, _check_symbol(symbol) if symbol else None


def _check_symbol(symbol: str | None) -> str | None:
    if symbol is None:
        return None
    if not _SYMBOL.match(symbol):
        raise ParameterError(f"`--symbol` must be a ticker such as BTC or ETH, got {symbol!r}")
    return symbol.upper()


def record_name(handle: str, file: str, symbol: str | None = None) -> str:
    """The registry name of a Kaggle file: ``kaggle:OWNER/SLUG/FILE[#SYMBOL]``, which is
    also a valid ``--dataset`` value."""
    return f"{KAGGLE}{handle}/{file}" + (f"#{symbol}" if symbol else "")


# ------------------------------------------------------------------ search and auth


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


# ------------------------------------------------------------------ download and selection


@dataclass(frozen=True)
class FetchResult:
    """A fetched dataset: where kagglehub cached it, its files, and what was registered.

    ``record`` is None for a sentiment dataset (stored in the cache, not trainable).
    """

    handle: str
    directory: Path
    files: tuple[str, ...]
    record: DatasetRecord | None
    note: str | None = None


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


def fetch(
    handle: str,
    *,
    file: str | None = None,
    symbol: str | None = None,
    force: bool = False,
    settings: Settings | None = None,
    retry: RetryPolicy | None = None,
) -> FetchResult:
    """Download ``handle``, pick its OHLCV file, load it and register it.

    The file is ``file`` if given; else the one named for ``symbol`` (coin_Bitcoin.csv,
    BTCUSDT, BTC-USD for BTC) or, in a multi-coin table, that symbol's rows; else the
    single file that loads as OHLCV.

    Raises:
        ParameterError: bad handle or symbol, or several files qualify (pass ``file``).
        DataError: no usable OHLCV file.
        KaggleError: the download failed (nothing is registered then).
    """
    handle, symbol = parse_handle(handle), _check_symbol(symbol)
    directory = download(handle, force=force, retry=retry)
    files = tuple(_list_files(directory))
    entry = catalog_entry(handle)
    if entry is not None and entry.kind == "sentiment":
        return FetchResult(
            handle,
            directory,
            files,
            None,
            (
                f"{entry.title} is a sentiment series, not OHLCV prices: stored in the Kaggle "
                f"download cache at {directory}; not registered, because training needs prices"
            ),
        )
    choice = _choose(directory, files, handle, file=file, symbol=symbol)
    registry = DatasetRegistry(settings or Settings.from_env())
    with tempfile.TemporaryDirectory(prefix="ssots-kaggle-") as scratch:
        path = _rows_of(choice, Path(scratch)) if choice.rows_of else choice.path
        record = registry.register(
            path,
            name=record_name(handle, choice.name, choice.rows_of),
            source="kaggle",
            handle=handle,
        )
    return FetchResult(handle, directory, files, record)


def ensure_dataset(
    ref: str, *, settings: Settings | None = None, retry: RetryPolicy | None = None
) -> DatasetRecord:
    """The registered dataset for ``kaggle:OWNER/SLUG[/FILE][#SYMBOL]``, fetched first if
    it is not registered yet.

    Raises:
        DataError: a sentiment dataset (not trainable), or no usable OHLCV file.
        ParameterError: malformed reference, or several registered files match.
        KaggleError: the download failed.
    """
    handle, file, symbol = parse_ref(ref)
    entry = catalog_entry(handle)
    if entry is not None and entry.kind == "sentiment":
        raise DataError(
            f"{handle} ({entry.title}) is a sentiment series, index values without open, "
            "high, low or close prices; a Q-score model trains on OHLCV bars. Pick an OHLCV "
            "dataset from `ssots data list`"
        )
    settings = settings or Settings.from_env()
    record = _registered(DatasetRegistry(settings), handle, file, symbol)
    if record is not None:
        return record
    fetched = fetch(handle, file=file, symbol=symbol, settings=settings, retry=retry).record
    assert fetched is not None  # only sentiment datasets register nothing
    return fetched


def _registered(
    registry: DatasetRegistry, handle: str, file: str | None, symbol: str | None
) -> DatasetRecord | None:
    records = [r for r in registry.list() if r.source == "kaggle" and r.handle == handle]
    if file is not None:
        name = record_name(handle, file, symbol)
        return next((r for r in records if r.name == name), None)
    if symbol is not None:
        records = [
            r
            for r in records
            if r.name.endswith(f"#{symbol}")
            or _quote_of(r.name.rsplit("/", 1)[-1], symbol) is not None
        ]
    if len(records) > 1:
        names = ", ".join(r.name for r in records)
        raise ParameterError(
            f"several files of {handle} are registered ({names}); pass one "
            "of these names as --dataset"
        )
    return records[0] if records else None


@dataclass(frozen=True)
class _Choice:
    name: str  # path inside the dataset
    path: Path
    rows_of: str | None = None  # take only this symbol's rows (multi-coin table)


_DATA_SUFFIXES = (".csv", ".txt", ".tsv", ".gz", ".parquet", ".pq")
_TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
_SAMPLE_BYTES = 256 * 1024
_MAX_LISTED = 12


def _list_files(directory: Path) -> list[str]:
    return sorted(
        path.relative_to(directory).as_posix()
        for path in directory.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(directory).parts)
    )


def _choose(
    directory: Path, files: tuple[str, ...], handle: str, *, file: str | None, symbol: str | None
) -> _Choice:
    if file is not None:
        return _with_rows(directory, _match_file(files, file, handle), symbol)
    data = [name for name in files if name.lower().endswith(_DATA_SUFFIXES)]
    if symbol is not None:
        named = _prefer_usd(
            [
                n
                for n in data
                if _quote_of(n, symbol) is not None and _why_not_ohlcv(directory / n) is None
            ],
            symbol,
        )
        if len(named) == 1:
            return _with_rows(directory, named[0], symbol)
        if named:
            raise _ambiguous(handle, named, f"OHLCV files for {symbol}")
    usable = _ohlcv_files(directory, data, handle)
    if symbol is not None:
        usable = [name for name in usable if symbol in _coins(directory / name)[1]]
        if not usable:
            raise DataError(
                f"no OHLCV file of {handle} is named for {symbol} or has {symbol} "
                f"rows; files: {_names(files)}. Pass --file NAME"
            )
    if len(usable) > 1:
        raise _ambiguous(handle, usable, "OHLCV files")
    return _with_rows(directory, usable[0], symbol)


def _match_file(files: tuple[str, ...], file: str, handle: str) -> str:
    wanted = file.strip("/")
    for same in (
        lambda name: name == wanted,
        lambda name: name.lower() == wanted.lower(),
        lambda name: PurePosixPath(name).name.lower() == wanted.lower(),
    ):
        matches = [name for name in files if same(name)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise _ambiguous(handle, matches, f"files named {file}")
    raise DataError(f"{handle} has no file {file!r}; its files: {_names(files)}")


def _ohlcv_files(directory: Path, data: list[str], handle: str) -> list[str]:
    reasons = {name: _why_not_ohlcv(directory / name) for name in data}
    usable = [name for name, reason in reasons.items() if reason is None]
    if not usable:
        detail = "; ".join(f"{name}: {reason}" for name, reason in list(reasons.items())[:5])
        raise DataError(
            f"no file of {handle} loads as OHLCV prices"
            + (f" ({detail})" if detail else " (it has no CSV or Parquet files)")
        )
    return usable


def _why_not_ohlcv(path: Path) -> str | None:
    """None if ``path`` loads as OHLCV (text files judged on their first 256 KB), else why."""
    try:
        if path.suffix.lower() in _TEXT_SUFFIXES and path.stat().st_size > _SAMPLE_BYTES:
            with tempfile.TemporaryDirectory(prefix="ssots-probe-") as scratch:
                sample = Path(scratch) / path.name
                sample.write_bytes(_head(path))
                try:
                    load(sample)
                except DataError as exc:
                    return str(exc).replace(str(sample), path.name)
        else:
            load(path)
    except DataError as exc:
        return str(exc).replace(str(path), path.name)
    return None


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        data = handle.read(_SAMPLE_BYTES)
    return data[: data.rfind(b"\n") + 1] or data


# Coin names used in file names, by ticker (coin_Bitcoin.csv).
_COIN_NAMES = {
    "BTC": ("bitcoin", "xbt"),
    "ETH": ("ethereum",),
    "LTC": ("litecoin",),
    "XRP": ("ripple",),
    "ADA": ("cardano",),
    "DOGE": ("dogecoin",),
    "SOL": ("solana",),
    "BNB": ("binancecoin",),
    "DOT": ("polkadot",),
    "XMR": ("monero",),
    "XLM": ("stellar",),
    "TRX": ("tron",),
    "LINK": ("chainlink",),
    "USDT": ("tether",),
    "EOS": ("eos",),
}
_QUOTES = ("usd", "usdt", "usdc", "busd", "eur", "gbp", "jpy", "btc", "eth")
_USD_QUOTES = ("", "usd", "usdt", "usdc", "busd")


def _quote_of(name: str, symbol: str) -> str | None:
    """The quote currency if ``name`` is named for ``symbol`` ("" when none is named):
    BTC -> coin_Bitcoin.csv "", btcusd.csv "usd", BTCUSDT-1h.csv "usdt", BTC-USD.csv "usd";
    None if it is not named for it."""
    tokens = re.split(r"[^a-z0-9]+", PurePosixPath(name).name.lower())
    aliases = (symbol.lower(), *_COIN_NAMES.get(symbol, ()))
    for i, token in enumerate(tokens):
        for alias in aliases:
            if token == alias:
                following = tokens[i + 1] if i + 1 < len(tokens) else ""
                return following if following in _QUOTES else ""
            if token.startswith(alias) and token[len(alias) :] in _QUOTES:
                return token[len(alias) :]
    return None


def _prefer_usd(names: list[str], symbol: str) -> list[str]:
    """Among several files for a coin, the ones quoted in US dollars (or unquoted)."""
    usd = [name for name in names if _quote_of(name, symbol) in _USD_QUOTES]
    return usd if len(names) > 1 and usd else names


def _ambiguous(handle: str, names: list[str], what: str) -> ParameterError:
    return ParameterError(
        f"{handle} has several {what}: {_names(names)}; pass --file NAME, e.g. --file {names[0]!r}"
    )


def _names(names: list[str] | tuple[str, ...]) -> str:
    shown = ", ".join(names[:_MAX_LISTED])
    more = len(names) - _MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "") if names else "none"


# ------------------------------------------------------------------ multi-coin tables


_SYMBOL_COLUMNS = ("symbol", "ticker", "coin", "asset", "pair")


def _table_layout(path: Path) -> tuple[str, int, str] | None:
    """(delimiter, header line, symbol column) of a text table with a symbol column."""
    if path.suffix.lower() not in _TEXT_SUFFIXES:
        return None
    lines = _head(path).decode("utf-8-sig", errors="replace").splitlines()[:50]
    try:
        delimiter = csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=",;\t|").delimiter
    except csv.Error:
        return None
    for number, line in enumerate(lines[:10]):
        for column in next(csv.reader([line], delimiter=delimiter), []):
            if re.sub(r"[^a-z]", "", column.lower()) in _SYMBOL_COLUMNS:
                return delimiter, number, column
    return None


def _read_table(path: Path, layout: tuple[str, int, str], *, only_symbol: bool) -> Any:
    import pandas as pd

    delimiter, header, column = layout
    return pd.read_csv(
        path,
        sep=delimiter,
        skiprows=header,
        dtype=str,
        keep_default_na=False,
        encoding="utf-8-sig",
        usecols=[column] if only_symbol else None,
    )


def _coins(path: Path) -> tuple[str | None, tuple[str, ...]]:
    """(symbol column, its distinct upper-case values), or (None, ()) without one."""
    layout = _table_layout(path)
    if layout is None:
        return None, ()
    values = _read_table(path, layout, only_symbol=True)[layout[2]].str.strip().str.upper()
    return layout[2], tuple(sorted(set(values) - {""}))


def _with_rows(directory: Path, name: str, symbol: str | None) -> _Choice:
    """Choose ``name``, with one symbol's rows when it is a table of several coins."""
    column, coins = _coins(directory / name)
    if len(coins) > 1 and symbol is None:
        raise DataError(
            f"{name} holds {len(coins)} coins in its `{column}` column "
            f"({_names(list(coins))}); pass --symbol, e.g. --symbol {coins[0]}"
        )
    if symbol is not None and coins and symbol not in coins:
        raise DataError(
            f"{name} has no rows for {symbol}; its `{column}` column holds {_names(list(coins))}"
        )
    return _Choice(name, directory / name, symbol if len(coins) > 1 else None)


def _rows_of(choice: _Choice, scratch: Path) -> Path:
    """Write the rows of ``choice.rows_of`` to a CSV in ``scratch`` (for registration)."""
    layout = _table_layout(choice.path)
    assert layout is not None
    table = _read_table(choice.path, layout, only_symbol=False)
    rows = table[table[layout[2]].str.strip().str.upper() == choice.rows_of]
    target = scratch / f"{PurePosixPath(choice.name).stem}.{choice.rows_of}.csv"
    rows.to_csv(target, index=False)
    return target
