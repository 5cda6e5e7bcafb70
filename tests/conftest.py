"""Shared fixtures: the real OHLCV files beside the project (../shared/data/real)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REAL_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data" / "real"
REAL_FILES = sorted(REAL_DATA_DIR.glob("*.csv"))


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


def pytest_configure(config: pytest.Config) -> None:
    """Commands run by tests (``ssots train`` records its run) write to a temporary home,
    never to the user's ~/.ssots."""
    os.environ["SSOTS_HOME"] = tempfile.mkdtemp(prefix="ssots-test-home-")


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
