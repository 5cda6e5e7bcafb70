"""Datasets: resolving a name (``demo``, a file path, a registered dataset) to market data,
and the registry of datasets kept under ``$SSOTS_HOME/datasets`` (content-addressed files,
one database row each). The CLI, the pipeline, the API and the dashboard all use this
module; nothing else resolves ``--dataset``.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select

from ssots.config import Settings
from ssots.data.demo import demo
from ssots.data.loader import load
from ssots.errors import DataError, NotFoundError
from ssots.store import Database, open_database
from ssots.store.tables import DatasetRow

DEMO = "demo"
KAGGLE = "kaggle:"
"""Prefix of Kaggle references: ``kaggle:OWNER/SLUG[/FILE][#SYMBOL]``."""


@dataclass(frozen=True)
class Dataset:
    """Canonical OHLCV data with where it came from."""

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


def open_dataset(
    name: str,
    *,
    seed: int = 42,
    demo_days: int = 1095,
    demo_freq: str = "1d",
    settings: Settings | None = None,
) -> Dataset:
    """Resolve ``name`` to data.

    Args:
        name: ``demo`` (synthetic data from ``seed``), a path to a CSV/Parquet file,
            ``kaggle:OWNER/SLUG[/FILE]`` (fetched and registered on first use), or the id
            or name of a registered dataset.
        seed: seed of the demo generator.
        demo_days: calendar days of demo data.
        demo_freq: bar spacing of demo data.
        settings: where the registry lives (default: from the environment).

    Returns:
        The loaded ``Dataset``.

    Raises:
        DataError: unknown name, or the file is unusable (the message says why).
        KaggleError: a ``kaggle:`` dataset could not be fetched.
    """
    if name == DEMO:
        frame = demo(days=demo_days, seed=seed, freq=demo_freq)
        return Dataset(
            name=f"demo (seed {seed}, {demo_days} days)",
            kind=DEMO,
            frame=frame,
            sha256=_frame_sha256(frame),
            spacing=demo_freq,
        )
    path = Path(name).expanduser()
    if path.is_file():
        return _file_dataset(path, name=path.name, kind="file")
    settings = settings or Settings.from_env()
    if name.startswith(KAGGLE):
        from ssots.data.kaggle import ensure_dataset

        record = ensure_dataset(name, settings=settings)
        return _file_dataset(record.path, name=record.name, kind=record.source)
    record = DatasetRegistry(settings).find(name) if _has_registry(settings) else None
    if record is None:
        raise DataError(
            f"no such dataset: {name!r}; pass `demo`, the path of a CSV or Parquet file, "
            "kaggle:OWNER/SLUG, or a registered dataset (`ssots data ls`)"
        )
    return _file_dataset(record.path, name=record.name, kind=record.source)


def _file_dataset(path: Path, *, name: str, kind: str) -> Dataset:
    frame, report = load(path)
    return Dataset(
        name=name,
        kind=kind,
        frame=frame,
        sha256=report.sha256,
        spacing=report.spacing_label,
        path=str(path.resolve()),
        repairs=report.repairs,
    )


def _has_registry(settings: Settings) -> bool:
    """False for a fresh SQLite home, so that a lookup does not create one."""
    if settings.database_url.startswith("sqlite:///"):
        return Path(settings.database_url.removeprefix("sqlite:///")).is_file()
    return True


def _frame_sha256(frame: pd.DataFrame) -> str:
    digest = hashlib.sha256(frame.index.asi8.tobytes())
    digest.update(frame.to_numpy().tobytes())
    return digest.hexdigest()


SOURCES: tuple[str, ...] = ("kaggle", "upload", "local")
_ID = re.compile(r"^[0-9a-f]{12}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


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
        self, file: Path, *, name: str, source: str, handle: str | None = None
    ) -> DatasetRecord:
        """Validate ``file`` with the loader, copy it into the home and record it.

        The same content from the same source and handle is registered once: registering
        it again returns the existing record. A failure leaves neither a row nor a file.

        Raises:
            DataError: the file is not usable market data (the loader's message).
        """
        if source not in SOURCES:
            raise DataError(f"`source` must be one of {', '.join(SOURCES)}, got {source!r}")
        frame, report = load(file)
        existing = self._find_same(report.sha256, source, handle)
        if existing is not None:
            return existing
        file_name = _safe_file_name(Path(file).name)
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
            start=_utc(row.start),
            end=_utc(row.end),
            spacing=row.spacing,
            report=row.report,
            added_at=_utc(row.added_at),
        )


def _safe_file_name(name: str) -> str:
    cleaned = _UNSAFE.sub("_", name).strip("._") or "data.csv"
    return cleaned[:200]


def _copy_into_place(source: Path, target: Path) -> bool:
    """Copy atomically; returns False when identical content was already there."""
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    shutil.copyfile(source, partial)
    partial.replace(target)
    return True


def _utc(moment: datetime) -> datetime:
    """SQLite drops the time zone; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
