"""Start-up: each command imports only the heavy libraries it uses. Every probe runs the
real ``ssots`` entry point in a fresh interpreter and reports which of ``HEAVY`` ended up
in ``sys.modules``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REAL_DATA_DIR

HEAVY = ("sklearn", "sqlalchemy", "alembic", "scipy", "numba", "pandas", "kagglehub", "fastapi")
"""Top-level packages whose import costs a tenth of a second or more."""

PROBE = f"""
import json, sys
sys.argv = ["ssots", *sys.argv[1:]]
from ssots.cli import main
try:
    main()
    code = 0
except SystemExit as exc:
    code = exc.code or 0
loaded = sorted({{name.split(".")[0] for name in sys.modules}} & set({HEAVY!r}))
extra = sorted(name for name in ("scipy.signal",) if name in sys.modules)
print(json.dumps({{"code": code, "loaded": loaded + extra}}), file=sys.stderr)
"""


def loaded_by(*args: str, cwd: Path) -> list[str]:
    """The heavy modules ``ssots ARGS...`` imported; fails unless it exited with 0."""
    env = {**os.environ, "SSOTS_HOME": str(cwd / "home")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, done.stderr
    return report["loaded"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("startup")


@pytest.fixture(scope="module")
def trained(workdir: Path) -> tuple[Path, list[str]]:
    """A weights file from ``ssots train --dataset demo`` and what that run imported."""
    weights = workdir / "weights.json"
    loaded = loaded_by(
        "train", "--dataset", "demo", "--epochs", "3", "--output", str(weights), "--no-track",
        cwd=workdir,
    )
    return weights, loaded


def test_help_imports_no_heavy_library(workdir: Path) -> None:
    assert loaded_by("--help", cwd=workdir) == []


def test_data_list_imports_no_heavy_library(workdir: Path) -> None:
    assert loaded_by("data", "list", cwd=workdir) == []


def test_data_inspect_reads_the_file_with_pandas_alone(workdir: Path) -> None:
    loaded = loaded_by(
        "data", "inspect", str(REAL_DATA_DIR / "yahoo_BTC-USD_daily.csv"), cwd=workdir
    )
    assert "pandas" in loaded  # the probe sees what a command really imports
    assert not {"sklearn", "sqlalchemy", "alembic", "numba", "scipy.signal"} & set(loaded)


def test_export_needs_neither_scikit_learn_nor_sqlalchemy(
    workdir: Path, trained: tuple[Path, list[str]]
) -> None:
    weights, _ = trained
    output = workdir / "omega.json"
    loaded = loaded_by("export", "--weights", str(weights), "--output", str(output), cwd=workdir)
    assert json.loads(output.read_text())  # the export really ran
    assert not {"sklearn", "sqlalchemy", "alembic", "numba", "kagglehub"} & set(loaded)


def test_untracked_training_on_the_demo_opens_no_database(trained: tuple[Path, list[str]]) -> None:
    _, loaded = trained
    assert {"sklearn", "numba"} <= set(loaded)  # baselines, indicators
    assert not {"sqlalchemy", "alembic", "kagglehub", "fastapi", "scipy.signal"} & set(loaded)


def test_the_demo_generator_needs_no_scipy_signal() -> None:
    code = (
        "import sys; import ssots.data.sources.demo as d; "
        "d.demo(days=30); print(d.demo(days=30).shape, 'scipy.signal' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == ["(30,", "5)", "False"]
