"""Opening the database: engine set-up (SQLite in WAL mode by default) and migrations;
the errors of a database that cannot be used, translated here once: a damaged file is
``DatabaseUnreadableError`` (one message, exit code 2), a write the file system refuses
(read-only or full home) is ``HomeNotWritableError`` (503)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from ssots.config import Settings
from ssots.errors import ConflictError, SsotsError
from ssots.store.home import HomeNotWritableError

_WRITE_REFUSED = (
    ("readonly database", "the home folder is read-only"),
    ("disk is full", "the disk holding the home folder is full"),
    ("unable to open database file", "the database file cannot be opened or created"),
    ("disk i/o error", "the disk reported an I/O error"),
)
"""SQLite's messages for writes the file system refused -> what to tell the user."""
_DAMAGED = ("file is not a database", "database disk image is malformed")


class DatabaseUnreadableError(SsotsError):
    """The database file is damaged or is not a database (exit code 2)."""


class SchemaTooNewError(ConflictError):
    """The database was migrated by a newer SSO-TS than this one (exit code 2)."""


MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x550706
"""The PostgreSQL advisory lock key held while migrating (several servers may start at once)."""


@dataclass(frozen=True)
class Database:
    """An engine and its session factory."""

    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error.

        Raises:
            HomeNotWritableError: the file system refused a write (read-only, full).
            DatabaseUnreadableError: the database file is damaged.
        """
        try:
            with self.sessions() as session, session.begin():
                yield session
        except (sa_exc.DBAPIError, sqlite3.DatabaseError) as exc:
            shown = translate(exc, "file")  # no server path: this may reach an API client
            if shown is exc:
                raise
            raise shown from exc


def open_database(settings: Settings, *, migrate: bool = True) -> Database:
    """Connect to ``settings.database_url`` and bring the schema up to date.

    Args:
        settings: where the database is.
        migrate: apply Alembic migrations to head (safe to repeat).

    Raises:
        DatabaseUnreadableError: the database file is damaged or not a database.
        HomeNotWritableError: the home folder or the database cannot be written.
    """
    url = settings.database_url
    if url.startswith("sqlite"):
        try:
            settings.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HomeNotWritableError(
                f"cannot create the home folder SSOTS_HOME={settings.home} "
                f"({exc.strerror}); choose a folder this user may write"
            ) from None
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    if migrate:
        try:
            upgrade(engine)
        except (sa_exc.DBAPIError, sqlite3.DatabaseError) as exc:
            engine.dispose()
            shown = translate(exc, _shown(settings))
            if shown is exc:
                raise
            raise shown from None
    return Database(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))


def translate(exc: Exception, where: str) -> Exception:
    """A database error as the error to show: ``DatabaseUnreadableError`` for a damaged
    file, ``HomeNotWritableError`` for a refused write, else ``exc`` itself."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    if any(mark in text for mark in _DAMAGED):
        return DatabaseUnreadableError(
            f"the database {where} is damaged or is not an SSO-TS database ({text}); "
            "restore it from a backup, or move it away to start with an empty one"
        )
    for mark, reason in _WRITE_REFUSED:
        if mark in text:
            return HomeNotWritableError(
                f"the database cannot be written: {reason}; free some space or make "
                "SSOTS_HOME writable, then try again"
            )
    return exc


def _shown(settings: Settings) -> str:
    """How messages name the database: the SQLite file's path (on this machine, for its
    user), or the URL's driver and host without credentials."""
    url = settings.database_url
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def upgrade(engine: Engine) -> None:
    """Apply every Alembic migration not yet applied; a schema already at the newest
    revision costs one query (Alembic is not even imported).

    Revisions are named by their file's number (``0004_registry.py`` is revision
    ``0004``; ``tests/test_migrations.py`` keeps it so).

    Raises:
        SchemaTooNewError: the database has a revision this version does not know.
    """
    known = revisions()
    current = current_revision(engine)
    if current == known[-1]:
        return
    if current is not None and current not in known:
        raise SchemaTooNewError(
            f"the database is at schema revision {current}, newer than this SSO-TS knows "
            f"(up to {known[-1]}); upgrade SSO-TS (pip install -U ssots), or point "
            "SSOTS_HOME / SSOTS_DATABASE_URL at another database"
        )
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":  # servers starting together migrate once
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")  # (a no-op when another server just did it)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    sqlite_commit_mode(dbapi_connection, _record)


def sqlite_commit_mode(dbapi_connection: Any, _record: Any) -> None:
    """How every SQLite database of the project commits (a SQLAlchemy ``connect``
    listener): WAL, so that the server and its workers write at once, with
    ``synchronous=NORMAL``, no disk flush per commit (durable against a crash of the
    process, not of the machine)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def revisions() -> list[str]:
    """The migrations' revisions, oldest first (the numbers of their file names)."""
    return sorted(
        path.name.split("_", 1)[0] for path in (MIGRATIONS_DIR / "versions").glob("0*.py")
    )


def current_revision(engine: Engine) -> str | None:
    """The database's Alembic revision, or None before the first migration."""
    from sqlalchemy import inspect, text

    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
