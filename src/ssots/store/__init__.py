"""Durable state: SQLAlchemy tables and queries, schema managed by Alembic migrations."""

from ssots.store.db import Database, open_database

__all__ = ["Database", "open_database"]
