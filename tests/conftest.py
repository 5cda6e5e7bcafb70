"""Shared fixtures: the real OHLCV files beside the project (../shared/data/real), and
``backend``: the contract suites run on SQLite and on PostgreSQL (``postgres_support``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import postgres_support

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REAL_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data" / "real"
REAL_FILES = sorted(REAL_DATA_DIR.glob("*.csv"))


@pytest.fixture(autouse=True, scope="session")
def _private_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests never read or write the user's ~/.ssots: SSOTS_HOME is a fresh folder unless
    a test sets its own."""
    saved = os.environ.get("SSOTS_HOME")
    os.environ["SSOTS_HOME"] = str(tmp_path_factory.mktemp("ssots-home"))
    yield
    if saved is None:
        os.environ.pop("SSOTS_HOME", None)
    else:
        os.environ["SSOTS_HOME"] = saved


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server for the tests: ``SSOTS_TEST_POSTGRES_URL``, or a
    throw-away cluster started for the session. Skipped when PostgreSQL is not installed,
    unless ``SSOTS_REQUIRE_POSTGRES=1``."""
    given = os.environ.get(postgres_support.SERVER_URL_VARIABLE)
    if given:
        yield given
        return
    binaries = postgres_support.find_binaries()
    if binaries is None:
        message = "PostgreSQL is not installed (no initdb/pg_ctl)"
        if os.environ.get(postgres_support.REQUIRE_VARIABLE) == "1":
            pytest.fail(f"{message}, and SSOTS_REQUIRE_POSTGRES=1")
        pytest.skip(message)
    cluster = postgres_support.Cluster(binaries)
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The database backend of a contract suite's module: ``sqlite`` (each home's own
    file) or ``postgres`` (each home a fresh database on the test server)."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    databases = postgres_support.Databases(request.getfixturevalue("postgres_server"))
    postgres_support.ACTIVE = databases
    try:
        yield "postgres"
    finally:
        postgres_support.ACTIVE = None
        databases.drop_all()


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The folder of real crypto OHLCV files shipped beside the project."""
    assert REAL_DATA_DIR.is_dir(), f"missing {REAL_DATA_DIR}: tests need ../shared/data/real"
    return REAL_DATA_DIR


def assert_canonical(frame: pd.DataFrame) -> None:
    """Assert the canonical OHLCV layout of MODEL.md section 1 and valid OHLC bars."""
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert (frame.dtypes == "float64").all()
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert frame.index.name == "time"
    assert str(frame.index.tz) == "UTC"
    assert frame.index.is_monotonic_increasing
    assert frame.index.is_unique
    assert not frame.isna().any().any()
    assert (frame[["open", "high", "low", "close"]] > 0).all().all()
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile the numba loops once before any test starts server or worker processes:
    they then load the on-disk cache instead of each compiling on a loaded machine."""
    import numpy as np

    from ssots import features
    from ssots.data import demo
    from ssots.model import QScoreModel

    features.dimensions(demo(days=120))
    rows = np.random.default_rng(0).random((3 * 8192, 8))  # several chunks: the parallel pass
    model = QScoreModel.default(8)
    model.loss_and_grad(rows, rows[:, 0])
    model.predict(rows)
