"""The ``ssots`` command line: training on every real file, scoring, export, errors."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import REAL_FILES
from ssots.artifacts import LEGACY_KEYS, SCHEMA, read_weights
from ssots.cli import app
from ssots.config import Settings
from ssots.services.datasets import resolve

runner = CliRunner()


def _train(tmp_path: Path, *args: str) -> Path:
    output = tmp_path / "w.json"
    result = runner.invoke(app, ["train", *args, "--output", str(output)])
    assert result.exit_code == 0, result.output
    return output


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name)
def test_train_on_every_real_file(path: Path, tmp_path: Path) -> None:
    output = _train(tmp_path, "--dataset", str(path), "--epochs", "50")
    document = json.loads(output.read_text())
    assert document["schema"] == SCHEMA
    assert document["data"]["name"] == path.name
    assert len(document["parameters"]) == 13
    assert 1 <= len(document["history"]) <= 50
    assert all(math.isfinite(value) for value in document["metrics"].values())


def test_train_json_score_and_export(tmp_path: Path) -> None:
    output = tmp_path / "w.json"
    result = runner.invoke(
        app, ["train", "--epochs", "30", "--strategy", "rsi-enhanced", "--json",
              "--output", str(output)],
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout[result.stdout.index("{"):])
    assert printed["parameters"] == json.loads(output.read_text())["parameters"]

    scored = runner.invoke(app, ["score", "--weights", str(output), "--dataset", "demo",
                                 "--last", "3"])
    assert scored.exit_code == 0, scored.output
    assert scored.output.count("long") + scored.output.count("short") == 3
    assert "Q (raw)" in scored.output
    saved = read_weights(output)
    latest = saved.score(resolve("demo", Settings.from_env()).frame).tail(3)
    assert not np.allclose(latest["q"], latest["q_raw"])  # the two columns differ
    for q, raw in zip(latest["q"], latest["q_raw"], strict=True):
        assert f"{q:.4f}" in scored.output
        assert f"{raw:.4f}" in scored.output

    omega = tmp_path / "omega.json"
    exported = runner.invoke(app, ["export", "--weights", str(output), "--output", str(omega)])
    assert exported.exit_code == 0, exported.output
    legacy = json.loads(omega.read_text())
    assert list(legacy)[:8] == list(LEGACY_KEYS)
    assert legacy["w_G"] == printed["parameters"]["w_sma_trend"]
    assert sum(legacy[k] for k in LEGACY_KEYS) == pytest.approx(1.0)


def test_score_uses_the_stored_normaliser(tmp_path: Path) -> None:
    from ssots.data import demo

    weights = _train(tmp_path, "--epochs", "20")
    saved = read_weights(weights)
    frame = demo(days=300, seed=9)
    scores = saved.score(frame)
    again = saved.score(frame.iloc[:200])
    # Scores of the first bars do not depend on later data: nothing is refitted (the
    # tolerance only absorbs float rounding of blockwise indicator sums).
    common = again.index
    np.testing.assert_allclose(scores.loc[common, "q"].to_numpy(), again["q"].to_numpy(),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["train", "--dataset", "missing.csv"], "no such dataset"),
        (["train", "--split", "0.5,0.5"], "`--split` must be three fractions"),
        (["train", "--strategy", "moon"], "unknown strategy"),
        (["train", "--lr", "-2"], "`--lr`"),
        (["train", "--fee", "-1"], "`--fee`"),
        (["train", "--strategy", "momentum-cros"], "did you mean 'momentum-cross'?"),
        (["score", "--weights", "nope.json", "--dataset", "demo"], "no such weights file"),
    ],
)
def test_user_mistakes_exit_2_with_one_message(args: list[str], phrase: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert phrase in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_console_script_prints_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("date,close\n2024-01-01,1\n")
    completed = subprocess.run(
        [sys.executable, "-m", "ssots", "train", "--dataset", str(bad)],
        capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr + completed.stdout
    assert "usable row" in completed.stderr
    assert completed.stderr.count("Error:") == 1



def test_help_lists_commands_in_the_order_a_user_needs_them() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    commands = result.output.split("Commands:")[1]
    positions = [commands.index(f"\n  {name} ") for name in
                 ("train", "score", "backtest", "export", "serve", "data")]
    assert positions == sorted(positions)
