"""Datasets as a use case: resolving a reference (``demo``, a file, a registered dataset,
``kaggle:``) to market data with its provenance, fetching Kaggle datasets, and
registering files and uploads (load first, then store).

This is the one place that resolves ``--dataset``. Every function takes the ``Settings``
it works with (callers pass them; nothing here reads the environment).

Registered datasets are read from their stored canonical frame (``canonical.parquet``
beside the original, written at registration); a dataset registered before that file
existed is parsed once, at most ``PARSES_AT_ONCE`` at a time in this process, and its
canonical frame stored then. Uploads are parsed in child processes (``UPLOAD_PARSERS``),
``PARSES_AT_ONCE`` at a time, each stopped after ``UPLOAD_READ_SECONDS``.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ssots.config import Settings
from ssots.data.market import load
from ssots.data.sources import kaggle
from ssots.data.sources.catalog import catalog_entry
from ssots.data.sources.demo import demo
from ssots.data.sources.reference import (
    DEMO,
    DatasetRef,
    DemoRef,
    FileRef,
    KaggleRef,
    RegisteredRef,
    parse_reference,
)
from ssots.errors import DataError, ParameterError
from ssots.services._parsers import ParserPool
from ssots.spec import DEFAULT_SEED, DEMO_DAYS, DEMO_FREQ

if TYPE_CHECKING:  # the store (and SQLAlchemy) loads only when a dataset is looked up
    from ssots.store.datasets import DatasetRecord, DatasetRegistry
    from ssots.store.db import Database

log = logging.getLogger(__name__)

PARSES_AT_ONCE = 2
"""Most files parsed at once by one process for its API: uploads (in child processes)
and registered datasets without a stored canonical frame (in threads)."""

UPLOAD_READ_SECONDS = 60.0
"""Longest time an upload may take to parse; its reader process is killed after it."""

UPLOAD_PARSERS = ParserPool(PARSES_AT_ONCE, UPLOAD_READ_SECONDS)
"""The child processes that parse uploads (started on the first upload)."""
atexit.register(UPLOAD_PARSERS.close)

_PARSES = threading.BoundedSemaphore(PARSES_AT_ONCE)
_PARSING: dict[Path, threading.Lock] = {}
"""One lock per content folder: readers of the same dataset wait for one parse."""
_PARSING_GUARD = threading.Lock()

# TODO(lead): the demo defaults come from ssots.spec (DEFAULT_SEED, DEMO_DAYS, DEMO_FREQ).


@dataclass(frozen=True)
class Dataset:
    """Canonical OHLCV data with where it came from.

    Attributes:
        name: what to call it, e.g. a registered name or a file name.
        kind: ``demo``, ``file`` (a path given directly) or the registered dataset's
            source (``kaggle``, ``upload``, ``file``).
        frame: the canonical OHLCV frame.
        sha256: of the file's bytes (of the frame for the demo).
        spacing: median bar spacing, e.g. ``1d``.
        path: the file's absolute path; None for the demo.
        repairs: what the loader repaired, one line each.
    """

    name: str
    kind: str
    frame: pd.DataFrame
    sha256: str
    spacing: str
    path: str | None = None
    repairs: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        """Provenance as JSON-ready values: name, kind, path, sha256, rows, span, spacing."""
        return {
            "name": self.name,
            "kind": self.kind,
            "path": self.path,
            "sha256": self.sha256,
            "rows": len(self.frame),
            "start": self.frame.index[0].isoformat(),
            "end": self.frame.index[-1].isoformat(),
            "spacing": self.spacing,
            "repairs": list(self.repairs),
        }


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


def resolve(
    reference: str | DatasetRef,
    settings: Settings,
    *,
    seed: int = DEFAULT_SEED,
    demo_days: int = DEMO_DAYS,
    demo_freq: str = DEMO_FREQ,
    retry: kaggle.RetryPolicy | None = None,
    database: Database | None = None,
) -> Dataset:
    """Resolve ``reference`` to data.

    Args:
        reference: ``demo`` (synthetic data from ``seed``), a path to a CSV/Parquet file,
            ``kaggle:OWNER/SLUG[/FILE][#SYMBOL]`` (fetched and registered on first use),
            or the id or name of a registered dataset; or one already parsed.
        settings: where the registry lives.
        seed: seed of the demo generator.
        demo_days: calendar days of demo data.
        demo_freq: bar spacing of demo data.
        retry: how Kaggle calls are retried.
        database: the open database to look a registered dataset up in (default: opened
            from ``settings``).

    Raises:
        DataError: unknown name, or the file is unusable (the message says why).
        KaggleError: a ``kaggle:`` dataset could not be fetched.
    """
    ref = parse_reference(reference) if isinstance(reference, str) else reference
    if isinstance(ref, DemoRef):
        frame = demo(days=demo_days, seed=seed, freq=demo_freq)
        return Dataset(
            name=f"demo (seed {seed}, {demo_days} days)",
            kind=DEMO,
            frame=frame,
            sha256=frame_sha256(frame),
            spacing=demo_freq,
        )
    if isinstance(ref, FileRef):
        return _file_dataset(ref.path, name=ref.path.name, kind="file")
    if isinstance(ref, KaggleRef):
        return load_record(ensure_dataset(ref, settings, retry=retry))
    record = _find(ref, settings, database)
    if record is None:
        raise DataError(
            f"no such dataset: {ref.key!r}; pass `demo`, the path of a CSV or Parquet file, "
            "kaggle:OWNER/SLUG, or a registered dataset (`ssots data ls`)"
        )
    return load_record(record)


def load_record(record: DatasetRecord) -> Dataset:
    """The data of a registered dataset, read from its stored canonical frame; a dataset
    without one (registered by an earlier version) is parsed from its original file, at
    most ``PARSES_AT_ONCE`` at a time, and its canonical frame stored for next time.

    Raises:
        DataError: its file is gone or no longer loads.
    """
    from ssots.store.datasets import read_canonical, store_canonical
    from ssots.store.home import HomeNotWritableError

    frame = read_canonical(record)
    if frame is None:
        with _PARSING_GUARD:
            same = _PARSING.setdefault(record.path.parent, threading.Lock())
        with same, _PARSES:
            frame = read_canonical(record)  # another thread may have stored it meanwhile
            if frame is None:
                frame = _file_dataset(record.path, name=record.name, kind=record.source).frame
                try:
                    store_canonical(record, frame)
                except HomeNotWritableError as exc:  # serve it anyway, parse again next time
                    log.warning("dataset %s: %s", record.id, exc)
    return Dataset(
        name=record.name,
        kind=record.source,
        frame=frame,
        sha256=record.sha256,
        spacing=record.spacing,
        path=str(record.path.resolve()),
        repairs=tuple(record.report.get("repairs", ())),
    )


def register_file(
    registry: DatasetRegistry,
    file: Path,
    *,
    name: str,
    source: str,
    handle: str | None = None,
    max_expanded_bytes: int | None = None,
) -> DatasetRecord:
    """Load ``file`` (refusing unusable data with the loader's message), then register it.

    Raises:
        TooLargeError: a gzip file expands past ``max_expanded_bytes``.
        DataError: the file is not usable market data.
    """
    frame, report = load(file, max_expanded_bytes=max_expanded_bytes)
    return registry.register(file, frame, report, name=name, source=source, handle=handle)


def register_upload(
    registry: DatasetRegistry,
    file: Path,
    *,
    name: str,
    max_expanded_bytes: int,
    shown_as: str = "the upload",
) -> DatasetRecord:
    """Register an uploaded file under a sanitised display ``name`` (with a version
    suffix when the name is taken, see ``DatasetRegistry.register``).

    The file is parsed in a child process of ``UPLOAD_PARSERS`` (at most
    ``PARSES_AT_ONCE`` at once, each stopped after ``UPLOAD_READ_SECONDS``), so a
    pathological file neither blocks nor bloats the serving process.

    Args:
        registry: where to register it.
        file: the uploaded bytes, spooled to a file.
        name: the display name asked for.
        max_expanded_bytes: largest decompressed (gzip) or decoded (Parquet) size.
        shown_as: how messages name the file, e.g. the client's file name.

    Raises:
        TooLargeError: a gzip or Parquet upload expands past ``max_expanded_bytes``.
        DataError: the file is not usable market data, or took too long to read.
        UnavailableError: ``PARSES_AT_ONCE`` uploads are being read and none finished
            in time.
        HomeNotWritableError: the home folder refused the files.
    """
    from ssots.store.datasets import safe_name

    frame, report = UPLOAD_PARSERS.call(load_upload, file, max_expanded_bytes, what=shown_as)
    return registry.register(
        file, frame, report, name=safe_name(name, default="upload"), source="upload"
    )


def load_upload(file: Path, max_expanded_bytes: int) -> tuple[pd.DataFrame, Any]:
    """``load(file)`` with an upload's expansion limit: what a parser child runs."""
    return load(file, max_expanded_bytes=max_expanded_bytes)


def fetch(
    handle: str,
    settings: Settings,
    *,
    file: str | None = None,
    symbol: str | None = None,
    force: bool = False,
    retry: kaggle.RetryPolicy | None = None,
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
    handle, symbol = kaggle.parse_handle(handle), kaggle.check_symbol(symbol)
    file = kaggle.check_file(file)
    directory = kaggle.download(handle, force=force, retry=retry)
    files = tuple(kaggle.list_files(directory))
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
    choice = kaggle.choose(directory, files, handle, file=file, symbol=symbol)
    from ssots.store.datasets import DatasetRegistry

    with tempfile.TemporaryDirectory(prefix="ssots-kaggle-") as scratch:
        path = kaggle.extract_rows(choice, Path(scratch)) if choice.rows_of else choice.path
        record = register_file(
            DatasetRegistry(settings),
            path,
            name=kaggle.record_name(handle, choice.name, choice.rows_of),
            source="kaggle",
            handle=handle,
        )
    return FetchResult(handle, directory, files, record)


def ensure_dataset(
    reference: str | KaggleRef, settings: Settings, *, retry: kaggle.RetryPolicy | None = None
) -> DatasetRecord:
    """The registered dataset for ``kaggle:OWNER/SLUG[/FILE][#SYMBOL]``, fetched first if
    it is not registered yet.

    Raises:
        DataError: a sentiment dataset (not trainable), or no usable OHLCV file.
        ParameterError: malformed reference, or several registered files match.
        KaggleError: the download failed.
    """
    ref = reference if isinstance(reference, KaggleRef) else KaggleRef(*kaggle.parse_ref(reference))
    entry = catalog_entry(ref.handle)
    if entry is not None and entry.kind == "sentiment":
        raise DataError(
            f"{ref.handle} ({entry.title}) is a sentiment series, index values without open, "
            "high, low or close prices; a Q-score model trains on OHLCV bars. Pick an OHLCV "
            "dataset from `ssots data list`"
        )
    from ssots.store.datasets import DatasetRegistry

    record = _registered(DatasetRegistry(settings), ref)
    if record is not None:
        return record
    fetched = fetch(ref.handle, settings, file=ref.file, symbol=ref.symbol, retry=retry).record
    assert fetched is not None  # only sentiment datasets register nothing
    return fetched


def _registered(registry: DatasetRegistry, ref: KaggleRef) -> DatasetRecord | None:
    records = [r for r in registry.list() if r.source == "kaggle" and r.handle == ref.handle]
    if ref.file is not None:
        name = kaggle.record_name(ref.handle, ref.file, ref.symbol)
        return next((r for r in records if r.name == name), None)
    if ref.symbol is not None:
        records = [
            r
            for r in records
            if r.name.endswith(f"#{ref.symbol}")
            or kaggle.quote_of(r.name.rsplit("/", 1)[-1], ref.symbol) is not None
        ]
    if len(records) > 1:
        names = ", ".join(r.name for r in records)
        raise ParameterError(
            f"several files of {ref.handle} are registered ({names}); pass one "
            "of these names as --dataset"
        )
    return records[0] if records else None


def _find(
    ref: RegisteredRef, settings: Settings, database: Database | None
) -> DatasetRecord | None:
    """The registered dataset ``ref`` names; None without one (a fresh SQLite home is
    not created by a lookup)."""
    url = settings.database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return None
    from ssots.store.datasets import DatasetRegistry

    return DatasetRegistry(settings, database).find(ref.key)


def _file_dataset(path: Path, *, name: str, kind: str) -> Dataset:
    frame, report = load(path)
    assert report.sha256 is not None  # load() always hashes the file
    return Dataset(
        name=name,
        kind=kind,
        frame=frame,
        sha256=report.sha256,
        spacing=report.spacing_label,
        path=str(path.resolve()),
        repairs=report.repairs,
    )


def frame_sha256(frame: pd.DataFrame) -> str:
    """The fingerprint of a canonical OHLCV frame: sha256 of its time index's and values'
    bytes (the same bars give the same digest, whatever file or format they came from)."""
    digest = hashlib.sha256(frame.index.asi8.tobytes())
    digest.update(frame.to_numpy().tobytes())
    return digest.hexdigest()
