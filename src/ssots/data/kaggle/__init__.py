"""Kaggle: live search, download, file selection and registration, with safe credentials.

Everything goes through Kaggle's own client libraries (``client``). No secret is ever
part of a message, log line, exception, registry row or file written here. A download is
registered only after it completed, passed the integrity check and loaded as OHLCV.

- ``credentials``: which credentials are in use (``credential_status``).
- ``errors``: ``KaggleError``, failure classification, secret-safe messages.
- ``client``: ``RetryPolicy``, the library call wrapper, ``search``, ``download``,
  ``check_credentials``.
- ``handles``: ``parse_handle``, ``parse_ref``, ``record_name``.
- ``selection``: which file of a download is the OHLCV file; one coin's rows.
- here: ``fetch`` and ``ensure_dataset``, and the public names re-exported.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from ssots.config import Settings
from ssots.data.catalog import catalog_entry
from ssots.data.datasets import DatasetRecord, DatasetRegistry
from ssots.data.kaggle.client import (
    DEFAULT_RETRY,
    AuthCheck,
    RetryPolicy,
    SearchHit,
    check_credentials,
    download,
    search,
)
from ssots.data.kaggle.credentials import (
    HOW_TO_SET_CREDENTIALS,
    CredentialStatus,
    credential_status,
)
from ssots.data.kaggle.errors import KaggleAuthError, KaggleError
from ssots.data.kaggle.handles import _check_symbol, parse_handle, parse_ref, record_name
from ssots.data.kaggle.selection import _choose, _list_files, _quote_of, _rows_of
from ssots.errors import DataError, ParameterError

__all__ = [
    "DEFAULT_RETRY",
    "HOW_TO_SET_CREDENTIALS",
    "AuthCheck",
    "CredentialStatus",
    "FetchResult",
    "KaggleAuthError",
    "KaggleError",
    "RetryPolicy",
    "SearchHit",
    "check_credentials",
    "credential_status",
    "download",
    "ensure_dataset",
    "fetch",
    "parse_handle",
    "parse_ref",
    "record_name",
    "search",
]


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
