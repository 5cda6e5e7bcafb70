"""PostgreSQL for the contract suites: a throw-away cluster (or the server named by
``SSOTS_TEST_POSTGRES_URL``) and one fresh database per SSO-TS home.

The suites that must hold on every backend (store, jobs, API, registry, runs, migrations)
take the module-scoped ``backend`` fixture (``conftest.py``), parametrised ``sqlite`` and
``postgres``. While the ``postgres`` parameter is active, ``web_support.make_settings``
and ``home_env`` point each home folder at a database of its own on the cluster, so a
test that builds settings for a fresh home gets a fresh database, and two settings of one
home share it, exactly as two SQLite files would.

The cluster is started with Debian's binaries (``/usr/lib/postgresql/<v>/bin``) as the
``postgres`` user when the tests run as root (``initdb`` refuses root), on a free loopback
port, with durability switched off (a test database need not survive a power cut). When
no binaries are found the ``postgres`` parameter is skipped, unless
``SSOTS_REQUIRE_POSTGRES=1`` (CI sets it), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

SERVER_URL_VARIABLE = "SSOTS_TEST_POSTGRES_URL"
"""An existing server to use instead of starting one: ``postgresql+psycopg://user@host:port/db``
(the user may create databases)."""
REQUIRE_VARIABLE = "SSOTS_REQUIRE_POSTGRES"
SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=300 -c shared_buffers=32MB"
)
"""Durability off and room for the connections of several servers and their workers."""


def find_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (newest Debian version first), or None."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """A PostgreSQL cluster in a temporary folder, owned by the ``postgres`` user when
    this process is root.

    Args:
        binaries: the folder of ``initdb`` and ``pg_ctl``.
    """

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.root = Path(tempfile.mkdtemp(prefix="ssots-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0
        self.user = "postgres" if self.as_postgres else os.environ.get("USER", "postgres")
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            "initdb", "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8",
            "--no-sync", "--no-instructions",
        )
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 {SERVER_OPTIONS}"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"),
            "-w", "-t", "60", "start",
        )
        self.url = f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/postgres"
        self._watch(os.getpid())

    def _watch(self, pid: int) -> None:
        """Stop the cluster once process ``pid`` is gone, however it ended (a test run
        killed by a signal runs no finalizer): a detached shell polls it."""
        stop = [str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
        if self.as_postgres:
            stop = ["runuser", "-u", "postgres", "--", *stop]
        script = (
            f"while kill -0 {pid} 2>/dev/null; do sleep 2; done; "
            f"{shlex.join(stop)} >/dev/null 2>&1; rm -rf {shlex.quote(str(self.root))}"
        )
        subprocess.Popen(
            ["sh", "-c", script],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.binaries / program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.root)

    def stop(self) -> None:
        """Stop the server at once and delete its files."""
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


class Databases:
    """Fresh databases on one server: one per home folder, created on first use.

    Args:
        server_url: an SQLAlchemy URL of the server's maintenance database.
    """

    def __init__(self, server_url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.server = make_url(server_url)
        self.admin = create_engine(self.server, isolation_level="AUTOCOMMIT", poolclass=None)
        self.by_home: dict[str, str] = {}

    def url_for(self, home: Path | str) -> str:
        """The URL of ``home``'s database (created empty the first time it is asked)."""
        key = str(Path(home).resolve())
        if key not in self.by_home:
            self.by_home[key] = self.create()
        return self.by_home[key]

    def create(self) -> str:
        """A new empty database's URL."""
        from sqlalchemy import text

        name = f"ssots_test_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        return self.server.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        """Drop every database made here (connections still open are ended)."""
        from sqlalchemy import text
        from sqlalchemy.engine import make_url

        with self.admin.connect() as connection:
            for url in self.by_home.values():
                name = make_url(url).database
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.by_home.clear()
        self.admin.dispose()


ACTIVE: Databases | None = None
"""The databases of the ``postgres`` parameter while it is active (None: SQLite)."""


def database_url(home: Path | str) -> str | None:
    """The database URL the active backend gives ``home`` (None: the home's SQLite file)."""
    return None if ACTIVE is None else ACTIVE.url_for(home)
