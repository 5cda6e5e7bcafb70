"""The dataset registry: content-addressed files under ``$SSOTS_HOME/datasets``, one
database row each. Persistence only: it stores a file that the caller has already loaded
(``ssots.services.datasets`` loads, then registers), and parses nothing itself.

Each content folder ``datasets/<sha256>/`` holds the original file and, beside it,
``canonical.parquet``: the canonical frame the loader made of it, written once at
registration (or on first use for datasets registered before it existed), so previews
and trainings read it back instead of parsing the original again. Without pyarrow there
is no canonical file and callers parse the original.

Names stay unique among uploads and local files: registering different content under a
name already in use gives the newer dataset a version suffix (``prices (2)``), so the
data that training by name uses is never silently replaced. A Kaggle file keeps its
``kaggle:`` reference as its name (a forced re-download registers the newer content
under the same name, and ``find`` returns the newest).
"""

from __future__ import annotations

import re
import shutil
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from sqlalchemy import select

from ssots.config import Settings
from ssots.errors import DataError, NotFoundError
from ssots.store.db import Database, open_database
from ssots.store.home import atomic_write
from ssots.store.tables import DatasetRow

CANONICAL_FILE = "canonical.parquet"
"""The canonical frame's file name in a dataset's content folder."""


class LoadedReport(Protocol):
    """What the registry needs of a load report (``ssots.data.LoadReport`` has it)."""

    @property
    def sha256(self) -> str | None: ...

    @property
    def spacing_label(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


SOURCES: tuple[str, ...] = ("kaggle", "upload", "file")
"""Where a registered dataset came from: downloaded from Kaggle, uploaded through the
API, or registered from a file on this machine (``file``; it was called ``local`` before,
which the API also uses for "a registered dataset" as a whole)."""
_ID = re.compile(r"^[0-9a-f]{12}$")
_UNSAFE = re.compile(r"[^\w .()-]+")
MAX_NAME = 200
_VERSIONED = ("upload", "file")
"""Sources whose names get a version suffix instead of repeating."""
_NAMING = threading.Lock()
"""Choosing a free name and inserting the row happen together (one server per home)."""


@dataclass(frozen=True)
class DatasetRecord:
    """One registered dataset. ``path`` is the absolute location of its file."""

    id: str
    name: str
    source: str
    handle: str | None
    file_name: str
    path: Path
    sha256: str
    size_bytes: int
    rows: int
    start: datetime
    end: datetime
    spacing: str
    report: dict[str, Any]
    added_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the file's location stays private)."""
        return {
            "id": self.id,
            "name": self.name,
            "source": self.source,
            "handle": self.handle,
            "file_name": self.file_name,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "rows": self.rows,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "spacing": self.spacing,
            "repairs": list(self.report.get("repairs", [])),
            "added_at": self.added_at.isoformat(),
        }


class DatasetRegistry:
    """Register, list, find and delete datasets.

    Args:
        settings: where the home folder and database are.
        database: an open database (default: opened from ``settings``).
    """

    def __init__(self, settings: Settings, database: Database | None = None) -> None:
        self.settings = settings
        self.database = database or open_database(settings)

    def register(
        self,
        file: Path,
        frame: pd.DataFrame,
        report: LoadedReport,
        *,
        name: str,
        source: str,
        handle: str | None = None,
    ) -> DatasetRecord:
        """Copy ``file`` (already loaded as ``frame`` with ``report``) into the home and
        record it.

        The same content from the same source and handle is registered once: registering
        it again returns the existing record. Other content under a name in use by an
        upload or a local file is registered as ``name (2)``, ``name (3)``, ...; the
        record's ``name`` says which. A failure leaves neither a row nor a file.

        Raises:
            DataError: unknown ``source``, or a report without the file's sha256.
            HomeNotWritableError: the home folder refused the files (read-only, full).
        """
        if source not in SOURCES:
            raise DataError(f"`source` must be one of {', '.join(SOURCES)}, got {source!r}")
        if report.sha256 is None:
            raise DataError("register a file loaded with `load` (its report has the sha256)")
        existing = self._find_same(report.sha256, source, handle)
        if existing is not None:
            return existing
        file_name = safe_name(Path(file).name, default="data.csv")
        if file_name == CANONICAL_FILE:
            file_name = f"original-{file_name}"
        relative = Path(report.sha256) / file_name
        target = self.settings.datasets_dir / relative
        created = _copy_into_place(Path(file), target)
        try:
            _store_canonical(target.parent, frame)
            with _NAMING:
                return self._insert(
                    name, source, handle, file_name, relative, target, frame, report
                )
        except BaseException:
            if created:
                shutil.rmtree(target.parent, ignore_errors=True)
            raise

    def _insert(
        self,
        name: str,
        source: str,
        handle: str | None,
        file_name: str,
        relative: Path,
        target: Path,
        frame: pd.DataFrame,
        report: LoadedReport,
    ) -> DatasetRecord:
        if source in _VERSIONED:
            name = self._free_name(name)
        row = DatasetRow(
            id=uuid.uuid4().hex[:12],
            name=name,
            source=source,
            handle=handle,
            file_name=file_name,
            path=str(relative),
            sha256=report.sha256,
            size_bytes=target.stat().st_size,
            rows=len(frame),
            start=frame.index[0].to_pydatetime(),
            end=frame.index[-1].to_pydatetime(),
            spacing=report.spacing_label,
            report={**report.to_dict(), "source": name},  # never a scratch or cache path
            added_at=datetime.now(UTC),
        )
        with self.database.session() as session:
            session.add(row)
        return self._record(row)

    def _free_name(self, name: str) -> str:
        """``name``, or ``name (N)`` with the least N >= 2 no dataset is named yet."""
        versions = DatasetRow.name.startswith(f"{name} (", autoescape=True)
        with self.database.session() as session:
            query = select(DatasetRow.name).where((DatasetRow.name == name) | versions)
            taken = set(session.scalars(query))
        version = 1
        candidate = name
        while candidate in taken:
            version += 1
            suffix = f" ({version})"
            candidate = f"{name[: MAX_NAME - len(suffix)]}{suffix}"
        return candidate

    def list(self) -> list[DatasetRecord]:
        """Every registered dataset, newest first."""
        with self.database.session() as session:
            rows = session.scalars(select(DatasetRow).order_by(DatasetRow.added_at.desc()))
            return [self._record(row) for row in rows]

    def get(self, dataset_id: str) -> DatasetRecord:
        """The dataset with ``dataset_id``.

        Raises:
            DataError: malformed id.
            NotFoundError: no dataset has that id.
        """
        if not _ID.match(dataset_id):
            raise DataError(
                f"{dataset_id!r} is not a dataset id (12 hex digits, e.g. 3f2a9c01b7de)"
            )
        with self.database.session() as session:
            row = session.get(DatasetRow, dataset_id)
            if row is None:
                raise NotFoundError(f"no dataset with id {dataset_id}; `ssots data ls` lists them")
            return self._record(row)

    def find(self, key: str) -> DatasetRecord | None:
        """The dataset whose id or name is ``key`` (the newest when names repeat), or None."""
        with self.database.session() as session:
            query = (
                select(DatasetRow)
                .where((DatasetRow.id == key) | (DatasetRow.name == key))
                .order_by(DatasetRow.added_at.desc())
            )
            row = session.scalars(query).first()
            return None if row is None else self._record(row)

    def delete(self, dataset_id: str) -> None:
        """Remove the record and, when no other record shares them, its file and its
        content folder (with the canonical frame).

        Raises:
            DataError: malformed or unknown id.
        """
        record = self.get(dataset_id)
        relative = str(record.path.relative_to(self.settings.datasets_dir))
        with self.database.session() as session:
            session.delete(session.get(DatasetRow, dataset_id))
            others = set(
                session.scalars(select(DatasetRow.path).where(DatasetRow.sha256 == record.sha256))
            )
        if not others:
            shutil.rmtree(record.path.parent, ignore_errors=True)
        elif relative not in others:
            record.path.unlink(missing_ok=True)

    def _find_same(self, sha256: str, source: str, handle: str | None) -> DatasetRecord | None:
        with self.database.session() as session:
            query = select(DatasetRow).where(
                DatasetRow.sha256 == sha256,
                DatasetRow.source == source,
                DatasetRow.handle.is_(None) if handle is None else DatasetRow.handle == handle,
            )
            row = session.scalars(query).first()
            return None if row is None else self._record(row)

    def _record(self, row: DatasetRow) -> DatasetRecord:
        return DatasetRecord(
            id=row.id,
            name=row.name,
            source=row.source,
            handle=row.handle,
            file_name=row.file_name,
            path=self.settings.datasets_dir / row.path,
            sha256=row.sha256,
            size_bytes=row.size_bytes,
            rows=row.rows,
            start=row.start,
            end=row.end,
            spacing=row.spacing,
            report=row.report,
            added_at=row.added_at,
        )


def canonical_path(record: DatasetRecord) -> Path:
    """Where the canonical frame of ``record`` is (or will be) stored."""
    return record.path.parent / CANONICAL_FILE


def read_canonical(record: DatasetRecord) -> pd.DataFrame | None:
    """The stored canonical frame of ``record``; None when there is none yet (or pyarrow
    is missing, or the file is damaged: the caller parses the original)."""
    path = canonical_path(record)
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path)
    except Exception:  # ImportError without pyarrow, or a damaged file: parse again
        return None


def store_canonical(record: DatasetRecord, frame: pd.DataFrame) -> None:
    """Store the canonical ``frame`` of ``record`` (as loaded from its original file),
    replacing a damaged one.

    Raises:
        HomeNotWritableError: the home folder refused the file.
    """
    _store_canonical(record.path.parent, frame, replace=True)


def _store_canonical(folder: Path, frame: pd.DataFrame, *, replace: bool = False) -> None:
    try:
        import pyarrow  # noqa: F401  (pandas writes Parquet with it)
    except ImportError:
        return
    target = folder / CANONICAL_FILE
    if replace or not target.exists():
        atomic_write(target, frame.to_parquet, what="the dataset's canonical frame")


def safe_name(text: str, *, default: str) -> str:
    """``text`` as a safe file or display name: the one sanitiser of names a client or a
    dataset chose. Runs of anything but letters, digits, space, ``.``, ``_``, ``(``, ``)``
    and ``-`` become ``_`` (so no path separators), leading and trailing dots,
    underscores and spaces go (no hidden files, no ``..``), at most 200 characters;
    ``default`` if nothing is left."""
    return _UNSAFE.sub("_", text).strip(" ._")[:MAX_NAME].strip(" ._") or default


def _copy_into_place(source: Path, target: Path) -> bool:
    """Copy atomically; returns False when identical content was already there.

    Raises:
        HomeNotWritableError: the home folder refused the copy.
    """
    if target.exists():
        return False
    atomic_write(target, lambda partial: shutil.copyfile(source, partial), what="the data file")
    return True
