"""Shared fixtures: the real OHLCV files beside the project (../shared/data/real)."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REAL_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data" / "real"
REAL_FILES = sorted(REAL_DATA_DIR.glob("*.csv"))


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The folder of real crypto OHLCV files shipped beside the project."""
    assert REAL_DATA_DIR.is_dir(), f"missing {REAL_DATA_DIR}: tests need ../shared/data/real"
    return REAL_DATA_DIR
