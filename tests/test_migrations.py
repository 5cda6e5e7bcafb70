"""Migrations: revisions are named by their file's number (``store.db.upgrade`` relies on it
to skip Alembic when the schema is current), and a newer database is refused in words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text

from ssots.store.db import (
    MIGRATIONS_DIR,
    SchemaTooNewError,
    current_revision,
    open_database,
    revisions,
)
from ssots.store.tables import Base
from web_support import make_settings


def test_each_revision_is_its_file_number_and_follows_the_previous() -> None:
    previous = None
    for number in revisions():
        (path,) = (MIGRATIONS_DIR / "versions").glob(f"{number}_*.py")
        source = path.read_text()
        assert re.search(rf'^revision = "{number}"$', source, re.M), path.name
        assert re.search(
            rf"^down_revision = {previous and repr(previous).replace(chr(39), chr(34))}$",
            source,
            re.M,
        ), path.name
        previous = number


@pytest.mark.usefixtures("backend")
def test_a_fresh_database_reaches_the_newest_revision_and_matches_the_tables(
    tmp_path: Path,
) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    database = open_database(make_settings(tmp_path))
    assert current_revision(database.engine) == revisions()[-1]
    open_database(make_settings(tmp_path))  # a second open is a no-op
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
    database.engine.dispose()


@pytest.mark.usefixtures("backend")
def test_a_database_from_a_newer_version_is_refused_in_words(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    database = open_database(settings)
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaTooNewError, match="revision 9999, newer than this SSO-TS knows"):
        open_database(settings)
