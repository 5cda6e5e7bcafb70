"""The model registry: registered models (unique name, description), their integer
versions (a weights document with its lineage each), aliases (``champion``, ...) and the
history of every alias move.

An alias move is one transaction whose first statement increments the model's
``alias_moves`` counter: that statement takes the write lock (the database's on SQLite,
the model row's on PostgreSQL), so two concurrent moves of one model run one after the
other, each numbered by the counter, each reading the state the other left.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ssots.errors import ConflictError, NotFoundError, ParameterError
from ssots.store.db import Database
from ssots.store.tables import AliasEventRow, ModelAliasRow, ModelRow, ModelVersionRow
from ssots.store.webhooks import enqueue_event

MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
"""A model's name: letters, digits, ``_ . -``, at most 100, starting with a letter or digit."""
ALIAS_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
"""An alias: lower-case letters, digits, ``_`` and ``-``, starting with a letter."""
LATEST = "latest"
"""The virtual alias of a model's highest version (reserved: it cannot be moved)."""
MAX_REASON = 1000


@dataclass(frozen=True)
class ModelRecord:
    """A registered model with its aliases (alias -> version) and latest version."""

    name: str
    description: str
    created_at: datetime
    aliases: dict[str, int]
    latest_version: int | None
    versions: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "name": self.name,
            "description": self.description,
            "created_at": self.created_at.isoformat(),
            "aliases": self.aliases,
            "latest_version": self.latest_version,
            "versions": self.versions,
        }


@dataclass(frozen=True)
class VersionRecord:
    """One version of a model."""

    model: str
    version: int
    created_at: datetime
    run_id: str | None
    content_key: str
    fingerprint: str
    metrics: dict[str, Any]
    weights: dict[str, Any]
    lineage: dict[str, Any]
    aliases: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """JSON-ready, without the weights document."""
        return {
            "model": self.model,
            "version": self.version,
            "uri": f"models:/{self.model}/{self.version}",
            "created_at": self.created_at.isoformat(),
            "run_id": self.run_id,
            "fingerprint": self.fingerprint,
            "metrics": self.metrics,
            "parameters": self.weights.get("parameters", {}),
            "aliases": list(self.aliases),
            "lineage": self.lineage,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the weights document."""
        return {**self.summary(), "weights": self.weights}


@dataclass(frozen=True)
class AliasEvent:
    """One move of an alias: number ``seq`` among the model's moves."""

    model: str
    alias: str
    seq: int
    kind: str
    from_version: int | None
    to_version: int
    who: str
    reason: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "model": self.model,
            "alias": self.alias,
            "seq": self.seq,
            "kind": self.kind,
            "from": self.from_version,
            "to": self.to_version,
            "who": self.who,
            "reason": self.reason,
            "at": self.created_at.isoformat(),
        }


def content_key(parameters: dict[str, float], fingerprint: str) -> str:
    """What makes two versions the same: their 13 parameters and their data fingerprint."""
    text = json.dumps({"parameters": parameters, "fingerprint": fingerprint}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def check_model_name(name: str) -> str:
    """``name`` if valid.

    Raises:
        ParameterError: not a valid model name.
    """
    if not MODEL_NAME.match(name):
        raise ParameterError(
            f"model name {name!r} must be 1-100 letters, digits, `_`, `.` or `-`, starting "
            "with a letter or digit"
        )
    return name


def check_alias(alias: str) -> str:
    """``alias`` if it can be moved.

    Raises:
        ParameterError: malformed, or ``latest`` (virtual and reserved).
    """
    if alias == LATEST:
        raise ParameterError("`latest` is virtual (the highest version) and cannot be moved")
    if not ALIAS_NAME.match(alias):
        raise ParameterError(
            f"alias {alias!r} must match [a-z][a-z0-9_-]* (at most 64), e.g. champion"
        )
    return alias


def _now() -> datetime:
    return datetime.now(UTC)


class ModelRegistry:
    """Registered models, versions and aliases in a database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    # -- models ------------------------------------------------------------------------

    def create_model(self, name: str, description: str = "") -> ModelRecord:
        """Register a new model.

        Raises:
            ParameterError: bad name.
            ConflictError: the name is taken.
        """
        row = ModelRow(
            name=check_model_name(name), description=description, created_at=_now(),
            alias_moves=0,
        )
        try:
            with self.database.session() as session:
                session.add(row)
        except IntegrityError:
            raise ConflictError(f"a model is already named {name!r}") from None
        return self.get_model(name)

    def ensure_model(self, name: str, description: str = "") -> ModelRecord:
        """The model ``name``, created first if there is none."""
        try:
            return self.get_model(name)
        except NotFoundError:
            try:
                return self.create_model(name, description)
            except ConflictError:  # created meanwhile
                return self.get_model(name)

    def get_model(self, name: str) -> ModelRecord:
        """The model ``name``.

        Raises:
            NotFoundError: none.
        """
        with self.database.session() as session:
            return self._model_record(session, self._model_row(session, name))

    def list_models(self) -> list[ModelRecord]:
        """Every model, by name."""
        with self.database.session() as session:
            rows = session.scalars(select(ModelRow).order_by(ModelRow.name)).all()
            return [self._model_record(session, row) for row in rows]

    def update_model(self, name: str, description: str) -> ModelRecord:
        """Replace a model's description."""
        with self.database.session() as session:
            self._model_row(session, name).description = description
        return self.get_model(name)

    # -- versions ----------------------------------------------------------------------

    def register(
        self,
        name: str,
        weights: dict[str, Any],
        *,
        fingerprint: str,
        run_id: str | None = None,
        lineage: dict[str, Any] | None = None,
    ) -> tuple[VersionRecord, bool]:
        """A new version of ``name`` holding ``weights`` (the model is created if new);
        identical content (same parameters and fingerprint) returns the existing version.

        Returns:
            The version and whether it was created.

        Raises:
            NotFoundError: no model ``name``.
            ParameterError: a document without parameters.
        """
        parameters = weights.get("parameters")
        if not isinstance(parameters, dict) or not parameters:
            raise ParameterError("a weights document without parameters cannot be registered")
        key = content_key(parameters, fingerprint)
        for _ in range(20):
            with self.database.session() as session:
                model = self._model_row(session, name)
                same = session.scalars(
                    select(ModelVersionRow).where(
                        ModelVersionRow.model_id == model.id, ModelVersionRow.content_key == key
                    )
                ).first()
                if same is not None:
                    return self._version_record(session, name, same), False
                latest = session.scalar(
                    select(func.max(ModelVersionRow.version)).where(
                        ModelVersionRow.model_id == model.id
                    )
                )
            row = ModelVersionRow(
                model_id=model.id,
                version=(latest or 0) + 1,
                created_at=_now(),
                run_id=run_id,
                content_key=key,
                fingerprint=fingerprint,
                metrics=weights.get("metrics", {}),
                weights=weights,
                lineage=lineage or {},
            )
            try:
                with self.database.session() as session:
                    session.add(row)
                    session.flush()
                    enqueue_event(
                        session.connection(),
                        "model.version_created",
                        {
                            "model": name,
                            "version": row.version,
                            "run_id": run_id,
                            "fingerprint": fingerprint,
                            "metrics": row.metrics,
                        },
                    )
            except IntegrityError:
                continue  # another registration took the number (or the content): look again
            return self.version(name, row.version), True
        raise ConflictError(f"could not register a version of {name}; retry")  # pragma: no cover

    def versions(self, name: str) -> list[VersionRecord]:
        """Every version of ``name``, newest first.

        Raises:
            NotFoundError: no such model.
        """
        with self.database.session() as session:
            model = self._model_row(session, name)
            rows = session.scalars(_newest_first(model.id)).all()
            return [self._version_record(session, name, row) for row in rows]

    def version(self, name: str, version: int) -> VersionRecord:
        """Version ``version`` of ``name``.

        Raises:
            NotFoundError: no such model or version.
        """
        with self.database.session() as session:
            model = self._model_row(session, name)
            row = self._version_row(session, model, version)
            return self._version_record(session, name, row)

    def latest(self, name: str) -> VersionRecord:
        """The highest version of ``name`` (the virtual alias ``latest``).

        Raises:
            NotFoundError: no such model, or it has no version.
        """
        with self.database.session() as session:
            model = self._model_row(session, name)
            row = session.scalars(_newest_first(model.id)).first()
            if row is None:
                raise NotFoundError(f"model {name} has no version yet; register one")
            return self._version_record(session, name, row)

    def delete_version(self, name: str, version: int) -> None:
        """Delete a version no alias points to.

        Raises:
            NotFoundError: no such model or version.
            ConflictError: an alias points to it (the message names the aliases).
        """
        with self.database.session() as session:
            model = self._lock_model(session, name)
            self._version_row(session, model, version)
            pointing = session.scalars(
                select(ModelAliasRow.alias).where(
                    ModelAliasRow.model_id == model.id, ModelAliasRow.version == version
                )
            ).all()
            if pointing:
                names = ", ".join(f"@{alias}" for alias in sorted(pointing))
                raise ConflictError(
                    f"version {version} of {name} cannot be deleted: {names} points to it; "
                    f"move the alias first (`ssots models alias {name} ALIAS VERSION`)"
                )
            session.execute(
                delete(ModelVersionRow).where(
                    ModelVersionRow.model_id == model.id, ModelVersionRow.version == version
                )
            )

    # -- aliases -----------------------------------------------------------------------

    def move_alias(
        self, name: str, alias: str, version: int, *, who: str, reason: str = ""
    ) -> AliasEvent:
        """Point ``alias`` of ``name`` at ``version`` and append the move to its history,
        in one transaction.

        Raises:
            ParameterError: bad alias (or ``latest``), reason too long.
            NotFoundError: no such model or version.
        """
        check_alias(alias)
        with self.database.session() as session:
            model = self._lock_model(session, name)
            self._version_row(session, model, version)
            return self._move(session, model, alias, version, "move", who, reason)

    def rollback(self, name: str, alias: str, *, who: str, reason: str = "") -> AliasEvent:
        """Move ``alias`` back one step: to the version it pointed to before its last move
        (rollbacks undo moves in turn, so two rollbacks go back two steps).

        Raises:
            NotFoundError: no such model or alias.
            ConflictError: the alias has no earlier version (or that version is deleted).
        """
        check_alias(alias)
        with self.database.session() as session:
            model = self._lock_model(session, name)
            events = session.scalars(
                select(AliasEventRow)
                .where(AliasEventRow.model_id == model.id, AliasEventRow.alias == alias)
                .order_by(AliasEventRow.seq)
            ).all()
            if not events:
                raise NotFoundError(f"model {name} has no alias @{alias}")
            stack: list[int] = []
            for event in events:
                if event.kind == "rollback":
                    stack.pop()
                else:
                    stack.append(event.to_version)
            if len(stack) < 2:
                raise ConflictError(
                    f"@{alias} of {name} has no earlier version to roll back to"
                )
            target = stack[-2]
            try:
                self._version_row(session, model, target)
            except NotFoundError:
                raise ConflictError(
                    f"@{alias} of {name} was at version {target} before, which is deleted"
                ) from None
            return self._move(
                session, model, alias, target, "rollback", who, reason or "rollback"
            )

    def history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        """The moves of ``alias`` (every alias when None) of ``name``, oldest first.

        Raises:
            NotFoundError: no such model.
        """
        with self.database.session() as session:
            model = self._model_row(session, name)
            where = [AliasEventRow.model_id == model.id]
            if alias is not None:
                where.append(AliasEventRow.alias == alias)
            rows = session.scalars(
                select(AliasEventRow).where(*where).order_by(AliasEventRow.seq)
            ).all()
            return [_event(name, row) for row in rows]

    def resolve_alias(self, name: str, alias: str, at: datetime | None = None) -> VersionRecord:
        """The version ``alias`` (or ``latest``) of ``name`` points to now, or pointed to
        at time ``at``.

        Raises:
            NotFoundError: no such model, alias, or the alias pointed nowhere at ``at``.
        """
        if alias == LATEST and at is None:
            return self.latest(name)
        if alias == LATEST:
            with self.database.session() as session:
                model = self._model_row(session, name)
                target = session.scalar(
                    select(func.max(ModelVersionRow.version)).where(
                        ModelVersionRow.model_id == model.id, ModelVersionRow.created_at <= at
                    )
                )
            if target is None:
                raise NotFoundError(f"model {name} had no version at {at.isoformat()}")
            return self.version(name, target)
        with self.database.session() as session:
            model = self._model_row(session, name)
            if at is None:
                row = session.get(ModelAliasRow, (model.id, alias))
                if row is None:
                    raise NotFoundError(f"model {name} has no alias @{alias}")
                target = row.version
            else:
                target = session.scalar(
                    select(AliasEventRow.to_version)
                    .where(
                        AliasEventRow.model_id == model.id,
                        AliasEventRow.alias == alias,
                        AliasEventRow.created_at <= at,
                    )
                    .order_by(AliasEventRow.seq.desc())
                    .limit(1)
                )
                if target is None:
                    raise NotFoundError(
                        f"@{alias} of {name} pointed to no version at {at.isoformat()}"
                    )
        return self.version(name, target)

    # -- helpers -----------------------------------------------------------------------

    def _move(
        self,
        session: Session,
        model: ModelRow,
        alias: str,
        version: int,
        kind: str,
        who: str,
        reason: str,
    ) -> AliasEvent:
        if len(reason) > MAX_REASON:
            raise ParameterError(f"a reason must be at most {MAX_REASON} characters")
        moment = _now()
        current = session.get(ModelAliasRow, (model.id, alias))
        before = None if current is None else current.version
        if current is None:
            session.add(
                ModelAliasRow(model_id=model.id, alias=alias, version=version, updated_at=moment)
            )
        else:
            current.version, current.updated_at = version, moment
        row = AliasEventRow(
            model_id=model.id,
            seq=model.alias_moves,
            alias=alias,
            kind=kind,
            from_version=before,
            to_version=version,
            who=who[:100],
            reason=reason,
            created_at=moment,
        )
        session.add(row)
        session.flush()
        enqueue_event(
            session.connection(),
            "model.alias_moved",
            {
                "model": model.name,
                "alias": alias,
                "kind": kind,
                "from": before,
                "to": version,
                "who": row.who,
                "reason": reason,
            },
        )
        return _event(model.name, row)

    def _lock_model(self, session: Session, name: str) -> ModelRow:
        """The model ``name`` after incrementing its move counter: the transaction's first
        statement is that write, so it holds the write lock from here on."""
        changed = session.execute(
            update(ModelRow)
            .where(ModelRow.name == name)
            .values(alias_moves=ModelRow.alias_moves + 1)
        ).rowcount
        if not changed:
            raise NotFoundError(f"no model named {name!r}; `ssots models list` lists them")
        return session.scalars(
            select(ModelRow).where(ModelRow.name == name).execution_options(populate_existing=True)
        ).one()

    @staticmethod
    def _model_row(session: Session, name: str) -> ModelRow:
        row = session.scalars(select(ModelRow).where(ModelRow.name == name)).first()
        if row is None:
            raise NotFoundError(f"no model named {name!r}; `ssots models list` lists them")
        return row

    @staticmethod
    def _version_row(session: Session, model: ModelRow, version: int) -> ModelVersionRow:
        row = session.scalars(
            select(ModelVersionRow).where(
                ModelVersionRow.model_id == model.id, ModelVersionRow.version == version
            )
        ).first()
        if row is None:
            raise NotFoundError(f"model {model.name} has no version {version}")
        return row

    @staticmethod
    def _aliases(session: Session, model_id: int) -> dict[str, int]:
        rows = session.execute(
            select(ModelAliasRow.alias, ModelAliasRow.version)
            .where(ModelAliasRow.model_id == model_id)
            .order_by(ModelAliasRow.alias)
        ).all()
        return dict(rows)

    def _model_record(self, session: Session, row: ModelRow) -> ModelRecord:
        latest, count = session.execute(
            select(func.max(ModelVersionRow.version), func.count()).where(
                ModelVersionRow.model_id == row.id
            )
        ).one()
        return ModelRecord(
            name=row.name,
            description=row.description,
            created_at=row.created_at,
            aliases=self._aliases(session, row.id),
            latest_version=latest,
            versions=count,
        )

    def _version_record(self, session: Session, name: str, row: ModelVersionRow) -> VersionRecord:
        aliases = tuple(
            alias for alias, version in self._aliases(session, row.model_id).items()
            if version == row.version
        )
        return VersionRecord(
            model=name,
            version=row.version,
            created_at=row.created_at,
            run_id=row.run_id,
            content_key=row.content_key,
            fingerprint=row.fingerprint,
            metrics=row.metrics,
            weights=row.weights,
            lineage=row.lineage,
            aliases=aliases,
        )


def _event(model: str, row: AliasEventRow) -> AliasEvent:
    return AliasEvent(
        model=model,
        alias=row.alias,
        seq=row.seq,
        kind=row.kind,
        from_version=row.from_version,
        to_version=row.to_version,
        who=row.who,
        reason=row.reason,
        created_at=row.created_at,
    )


def _newest_first(model_id: Any) -> Select[tuple[ModelVersionRow]]:
    """The versions of one model, highest first."""
    return (
        select(ModelVersionRow)
        .where(ModelVersionRow.model_id == model_id)
        .order_by(ModelVersionRow.version.desc())
    )
