"""The dataset registry: content-addressed files under ``$SSOTS_HOME/datasets``, one
database row each. Persistence only: it stores a file that the caller has already loaded
(``ssots.services.datasets`` loads, then registers), and loads nothing itself.
"""

from __future__ import annotations

import re
import shutil
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
from ssots.store.tables import DatasetRow


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
        it again returns the existing record. A failure leaves neither a row nor a file.

        Raises:
            DataError: unknown ``source``, or a report without the file's sha256.
        """
        if source not in SOURCES:
            raise DataError(f"`source` must be one of {', '.join(SOURCES)}, got {source!r}")
        if report.sha256 is None:
            raise DataError("register a file loaded with `load` (its report has the sha256)")
        existing = self._find_same(report.sha256, source, handle)
        if existing is not None:
            return existing
        file_name = safe_name(Path(file).name, default="data.csv")
        relative = Path(report.sha256) / file_name
        target = self.settings.datasets_dir / relative
        created = _copy_into_place(Path(file), target)
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
        try:
            with self.database.session() as session:
                session.add(row)
        except BaseException:
            if created:
                shutil.rmtree(target.parent, ignore_errors=True)
            raise
        return self._record(row)

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
        """Remove the record and, when no other record shares it, its file.

        Raises:
            DataError: malformed or unknown id.
        """
        record = self.get(dataset_id)
        with self.database.session() as session:
            session.delete(session.get(DatasetRow, dataset_id))
            shared = session.scalar(
                select(DatasetRow.id).where(
                    DatasetRow.path == str(record.path.relative_to(self.settings.datasets_dir))
                )
            )
        if shared is None:
            shutil.rmtree(record.path.parent, ignore_errors=True)

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


def safe_name(text: str, *, default: str) -> str:
    """``text`` as a safe file or display name: the one sanitiser of names a client or a
    dataset chose. Runs of anything but letters, digits, space, ``.``, ``_``, ``(``, ``)``
    and ``-`` become ``_`` (so no path separators), leading and trailing dots,
    underscores and spaces go (no hidden files, no ``..``), at most 200 characters;
    ``default`` if nothing is left."""
    return _UNSAFE.sub("_", text).strip(" ._")[:MAX_NAME].strip(" ._") or default


def _copy_into_place(source: Path, target: Path) -> bool:
    """Copy atomically; returns False when identical content was already there."""
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    shutil.copyfile(source, partial)
    partial.replace(target)
    return True
