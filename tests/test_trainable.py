"""What a series needs before it trains: the one minimum row count (loader and training
agree on it) and no hole too long to train across unless ``allow_gaps`` is set."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ssots.cli import app
from ssots.data import MIN_ROWS, demo, load
from ssots.errors import DataError
from ssots.pipeline import prepare, run
from ssots.spec import MAX_GAP_SPACINGS, RunSpec, min_rows
from ssots.splits import chronological_split

runner = CliRunner()


def test_the_minimum_is_warm_up_plus_split_plus_horizon() -> None:
    assert MIN_ROWS == min_rows() == 49 + 80 + 5 == 134


@pytest.mark.parametrize("split", [(0.6, 0.2, 0.2), (0.7, 0.15, 0.15), (0.5, 0.3, 0.2),
                                   (0.8, 0.1, 0.1), (0.34, 0.33, 0.33)])
@pytest.mark.parametrize("lookahead", [0, 1, 5, 20])
def test_every_count_from_the_minimum_on_splits(
    split: tuple[float, float, float], lookahead: int
) -> None:
    labelled = min_rows(split, lookahead) - 49 - lookahead
    for rows in range(labelled, labelled + 400):
        chronological_split(rows, split, lookahead)  # raises if a block is too small


def _csv(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / f"bars_{len(frame)}.csv"
    frame.to_csv(path)
    return path


def test_a_file_of_exactly_min_rows_trains_and_one_fewer_is_refused(tmp_path: Path) -> None:
    frame = demo(days=400, seed=11)
    exact = _csv(tmp_path, frame.iloc[:MIN_ROWS])
    trained = runner.invoke(app, ["train", "--dataset", str(exact), "--epochs", "5",
                                  "--output", str(tmp_path / "w.json")])
    assert trained.exit_code == 0, trained.output
    sizes = json.loads((tmp_path / "w.json").read_text())["training"]["split_sizes"]
    assert min(sizes.values()) >= 10
    short = _csv(tmp_path, frame.iloc[: MIN_ROWS - 1])
    refused = runner.invoke(app, ["train", "--dataset", str(short), "--epochs", "5",
                                  "--output", str(tmp_path / "x.json")])
    assert refused.exit_code == 2
    message = " ".join(refused.output.split())
    assert f"has {MIN_ROWS - 1} usable rows; SSO-TS needs at least {MIN_ROWS}" in message
    assert "Traceback" not in refused.output


def test_training_refuses_a_frame_below_its_runs_own_minimum() -> None:
    spec = RunSpec.build(horizon=20, epochs=3)
    needed = min_rows(spec.split, 20)
    frame = demo(days=400, seed=11)
    prepared = prepare(frame.iloc[:needed], spec)
    assert min(prepared.split.sizes().values()) >= 10
    with pytest.raises(DataError, match=f"has {needed - 1} bars; this run needs at least "
                                        f"{needed} \\(49 warm-up bars"):
        prepare(frame.iloc[: needed - 1], spec)


def _holed(days: int = 900, hole: slice = slice(300, 600)) -> pd.DataFrame:
    frame = demo(days=days, seed=4)
    return frame.drop(frame.index[hole])


def test_training_refuses_a_long_gap_and_says_where_it_is(tmp_path: Path) -> None:
    frame = _holed()
    full = demo(days=900, seed=4)
    with pytest.raises(DataError) as refused:
        run(RunSpec.build(epochs=3), frame)
    message = str(refused.value)
    assert f"from {full.index[299].date()} .. {full.index[600].date()}" in message
    assert "300 missing bars" in message
    assert "--allow-gaps" in message
    trained = run(RunSpec.build(epochs=3, allow_gaps=True), frame)
    assert trained.dataset["rows"] == 600
    path = _csv(tmp_path, frame)
    cli = runner.invoke(app, ["train", "--dataset", str(path), "--epochs", "3",
                              "--output", str(tmp_path / "w.json")])
    assert cli.exit_code == 2
    assert f"{full.index[299].date()} .. {full.index[600].date()}" in " ".join(cli.output.split())
    allowed = runner.invoke(app, ["train", "--dataset", str(path), "--epochs", "3",
                                  "--allow-gaps", "--output", str(tmp_path / "w.json")])
    assert allowed.exit_code == 0, allowed.output


def test_a_gap_at_the_limit_trains_and_one_bar_more_is_refused() -> None:
    limit = int(MAX_GAP_SPACINGS)
    at_limit = _holed(hole=slice(300, 300 + limit - 1))  # a step of exactly 10 spacings
    run(RunSpec.build(epochs=2), at_limit)
    with pytest.raises(DataError, match="gap in its bars"):
        run(RunSpec.build(epochs=2), _holed(hole=slice(300, 300 + limit)))


def test_inspect_shows_the_data_checks(tmp_path: Path) -> None:
    frame = _holed()
    frame.iloc[0, frame.columns.get_loc("high")] = frame["close"].iloc[0] * 50
    path = _csv(tmp_path, frame)
    assert load(path)[1].quality.outlier_count == 1
    shown = runner.invoke(app, ["data", "inspect", str(path)], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert "gaps │ 1 (steps over 3x the median spacing)" in text
    assert "300 missing bars" in text
    assert "outliers │ 1 (open/high/low/close over 10x" in text
    assert "is too long to train across" in text
