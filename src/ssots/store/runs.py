"""Tracked runs: the one place that reads and writes the ``runs`` table. A run is one
training (from ``ssots train`` or a job) with its settings, the fingerprint of its data,
its results and its weights document; it has a generated, editable, unique name, tags
(``key=value``) and notes."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from ssots.errors import ConflictError, NotFoundError, ParameterError
from ssots.store.db import Database
from ssots.store.tables import RunRow

RUN_SOURCES: tuple[str, ...] = ("cli", "job", "trial", "study")
"""Where a run was trained: ``ssots train`` (or ``runs rerun``), a job of the service, a
tuning trial (validation metrics only, tagged ``study``) or a study's refitted best trial
(its one test evaluation)."""
SORT_FIELDS: tuple[str, ...] = ("created_at", "name")
"""Columns a listing sorts by besides a metric key (``rank_ic``, ``r2``, ...)."""
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
"""What a run's name may be: letters, digits, ``_``, ``.``, ``-``; at most 100."""
RESERVED_NAMES = frozenset({"compare"})
"""Names a run cannot take (``/api/runs/compare`` is the comparison)."""
TAG_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_TAG_VALUE = 200
MAX_NOTES = 10_000
_METRIC_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_ADJECTIVES = (
    "amber", "bold", "brisk", "calm", "clever", "crisp", "dusty", "eager", "fair", "gentle",
    "golden", "hardy", "keen", "lively", "lucky", "mellow", "misty", "nimble", "quiet",
    "rapid", "royal", "silent", "steady", "sunny", "swift", "tidy", "vivid", "warm", "wise",
)  # fmt: skip
_NOUNS = (
    "badger", "bison", "crane", "dolphin", "eagle", "falcon", "fox", "gecko", "heron", "ibex",
    "jaguar", "koala", "lynx", "marten", "newt", "otter", "owl", "panda", "puffin", "raven",
    "seal", "sparrow", "tiger", "walrus", "wolf", "yak", "zebra",
)  # fmt: skip


@dataclass(frozen=True)
class RunRecord:
    """A run as read (every column of ``RunRow``)."""

    id: str
    name: str
    created_at: datetime
    source: str
    job_id: str | None
    spec: dict[str, Any]
    dataset_name: str
    dataset_fingerprint: str
    dataset_start: str | None
    dataset_end: str | None
    package_version: str
    metrics: dict[str, Any]
    baselines: dict[str, Any]
    backtest: dict[str, Any]
    history: list[Any]
    weights: dict[str, Any]
    tags: dict[str, str]
    notes: str

    def summary(self) -> dict[str, Any]:
        """JSON-ready listing fields (no history, backtest curves or weights document)."""
        return {
            "id": self.id,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "source": self.source,
            "job_id": self.job_id,
            "strategy": self.spec.get("strategy"),
            "dataset": {
                "name": self.dataset_name,
                "fingerprint": self.dataset_fingerprint,
                "start": self.dataset_start,
                "end": self.dataset_end,
            },
            "package_version": self.package_version,
            "metrics": self.metrics,
            "tags": self.tags,
            "notes": self.notes,
        }

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready."""
        return {
            **self.summary(),
            "spec": self.spec,
            "baselines": self.baselines,
            "backtest": self.backtest,
            "history": self.history,
            "weights": self.weights,
        }


class RunNotFoundError(NotFoundError):
    """No run has the id or name asked for."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"no run with id or name {key!r}; `ssots runs list` lists them")


def check_tags(tags: dict[str, str]) -> dict[str, str]:
    """``tags`` if every key and value is acceptable.

    Raises:
        ParameterError: a key is not 1-64 of letters, digits, ``_ . -``, or a value is
            longer than 200 characters.
    """
    for key, value in tags.items():
        if not TAG_KEY.match(key):
            raise ParameterError(
                f"tag key {key!r} must be 1-64 letters, digits, `_`, `.` or `-`"
            )
        if not isinstance(value, str) or len(value) > MAX_TAG_VALUE:
            raise ParameterError(f"tag {key!r} must have a text value of at most 200 characters")
    return tags


def check_name(name: str) -> str:
    """``name`` if it is a valid run name.

    Raises:
        ParameterError: not 1-100 letters, digits, ``_ . -`` starting with a letter or digit.
    """
    if name in RESERVED_NAMES:
        raise ParameterError(f"{name!r} is reserved; choose another run name")
    if not NAME_PATTERN.match(name):
        raise ParameterError(
            f"run name {name!r} must be 1-100 letters, digits, `_`, `.` or `-`, "
            "starting with a letter or digit"
        )
    return name


def generated_name() -> str:
    """A readable run name such as ``brisk-otter-042``."""
    return (
        f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.randbelow(1000):03d}"
    )


class RunStore:
    """Runs in a database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def create(self, *, name: str | None = None, **fields: Any) -> RunRecord:
        """Record a run (``fields``: the columns of ``RunRow`` but id, name, created_at).
        Without ``name`` a readable unique one is generated.

        Raises:
            ParameterError: unknown source, bad name or tags.
            ConflictError: ``name`` is taken.
        """
        if fields.get("source") not in RUN_SOURCES:
            raise ParameterError(f"run source must be one of {', '.join(RUN_SOURCES)}")
        fields.setdefault("tags", {})
        fields.setdefault("notes", "")
        check_tags(fields["tags"])
        run_id = uuid.uuid4().hex[:12]
        for attempt in range(20):
            chosen = check_name(name) if name is not None else generated_name()
            if name is None and attempt >= 10:
                chosen = f"{chosen}-{secrets.token_hex(2)}"
            row = RunRow(id=run_id, name=chosen, created_at=datetime.now(UTC), **fields)
            try:
                with self.database.session() as session:
                    session.add(row)
            except IntegrityError:
                if name is not None:
                    raise ConflictError(f"a run is already named {name!r}") from None
                continue
            return self.get(run_id)
        raise ConflictError("could not find a free run name; pass one")  # pragma: no cover

    def get(self, key: str) -> RunRecord:
        """The run whose id or name is ``key``.

        Raises:
            RunNotFoundError: none.
        """
        with self.database.session() as session:
            row = session.scalars(
                select(RunRow).where((RunRow.id == key) | (RunRow.name == key))
            ).first()
            if row is None:
                raise RunNotFoundError(key)
            return _record(row)

    def list(
        self,
        *,
        tags: dict[str, str] | None = None,
        dataset: str | None = None,
        source: str | None = None,
        sort: str = "created_at",
        descending: bool = True,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[RunRecord], int]:
        """One page of runs and how many match in all.

        Args:
            tags: only runs carrying every ``key=value`` of it.
            dataset: only runs on the dataset of this name or fingerprint.
            source: only runs from this source (``cli``, ``job``).
            sort: ``created_at``, ``name`` or a metric key (``rank_ic``, ``r2``, ...);
                runs without that metric come last.
            descending: largest first.
            limit, offset: the page.

        Raises:
            ParameterError: a malformed sort key or unknown source.
        """
        where: list[Any] = []
        for key, value in check_tags(tags or {}).items():
            where.append(RunRow.tags[key].as_string() == value)
        if dataset is not None:
            where.append(
                (RunRow.dataset_name == dataset) | (RunRow.dataset_fingerprint == dataset)
            )
        if source is not None:
            if source not in RUN_SOURCES:
                raise ParameterError(f"`source` must be one of {', '.join(RUN_SOURCES)}")
            where.append(RunRow.source == source)
        if sort in SORT_FIELDS:
            column: Any = getattr(RunRow, sort)
        elif _METRIC_KEY.match(sort):
            column = RunRow.metrics[sort].as_float()
        else:
            raise ParameterError(
                f"`sort` must be created_at, name or a metric key such as rank_ic, got {sort!r}"
            )
        order = [column.is_(None), column.desc() if descending else column.asc()]
        query = (
            select(RunRow)
            .where(*where)
            .order_by(*order, RunRow.created_at.desc(), RunRow.id)
            .limit(limit)
            .offset(offset)
        )
        with self.database.session() as session:
            rows = [_record(row) for row in session.scalars(query)]
            total = session.scalar(select(func.count()).select_from(RunRow).where(*where))
        return rows, total or 0

    def update(
        self,
        key: str,
        *,
        name: str | None = None,
        tags: dict[str, str | None] | None = None,
        notes: str | None = None,
    ) -> RunRecord:
        """Rename a run, merge ``tags`` into its tags (a None value removes that key), or
        replace its notes.

        Raises:
            RunNotFoundError: no such run.
            ParameterError: bad name, tags or notes too long.
            ConflictError: ``name`` is taken.
        """
        run = self.get(key)
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = check_name(name)
        if tags is not None:
            merged = {**run.tags, **{k: v for k, v in tags.items() if v is not None}}
            for removed in (k for k, v in tags.items() if v is None):
                merged.pop(removed, None)
            values["tags"] = check_tags(merged)
        if notes is not None:
            if len(notes) > MAX_NOTES:
                raise ParameterError(f"notes must be at most {MAX_NOTES} characters")
            values["notes"] = notes
        if values:
            try:
                with self.database.session() as session:
                    session.execute(update(RunRow).where(RunRow.id == run.id).values(**values))
            except IntegrityError:
                raise ConflictError(f"a run is already named {name!r}") from None
        return self.get(run.id)

    def delete(self, key: str) -> RunRecord:
        """Delete a run (model versions registered from it keep their own copy).

        Raises:
            RunNotFoundError: no such run.
        """
        run = self.get(key)
        with self.database.session() as session:
            session.execute(delete(RunRow).where(RunRow.id == run.id))
        return run


def _record(row: RunRow) -> RunRecord:
    return RunRecord(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        source=row.source,
        job_id=row.job_id,
        spec=row.spec,
        dataset_name=row.dataset_name,
        dataset_fingerprint=row.dataset_fingerprint,
        dataset_start=row.dataset_start,
        dataset_end=row.dataset_end,
        package_version=row.package_version,
        metrics=row.metrics,
        baselines=row.baselines,
        backtest=row.backtest,
        history=row.history,
        weights=row.weights,
        tags=row.tags,
        notes=row.notes,
    )
