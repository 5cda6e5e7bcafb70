"""Walk-forward validation (MODEL.md section 6): purged expanding-window folds whose test
blocks tile the tail of the series, each fold fitted on its own training rows only."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from ssots import features
from ssots.cli import app
from ssots.data import demo
from ssots.errors import DataError, ParameterError
from ssots.pipeline import prepare, walk_forward, with_split
from ssots.spec import RunSpec
from ssots.splits import MIN_BLOCK_ROWS, chronological_split, walk_forward_splits


@given(
    block=st.integers(300, 2_000),
    spare=st.integers(0, 20),
    folds=st.integers(2, 20),
    validation_ratio=st.floats(0.1, 0.5),
    lookahead=st.integers(0, 12),
)
def test_folds_tile_the_tail_and_respect_the_purge(
    block: int, spare: int, folds: int, validation_ratio: float, lookahead: int
) -> None:
    n_rows = block * (folds + 1) + spare
    splits = walk_forward_splits(n_rows, folds, validation_ratio, lookahead)
    assert len(splits) == folds
    tests = [split.test for split in splits]
    assert tests[-1].stop == n_rows
    for earlier, later in pairwise(tests):
        assert earlier.stop == later.start  # no overlap, no gap
    for split in splits:
        assert split.train.start == 0
        assert split.train.stop + lookahead <= split.validation.start
        assert split.validation.stop + lookahead <= split.test.start
        assert min(split.sizes().values()) >= MIN_BLOCK_ROWS
    assert [s.train.stop for s in splits] == sorted(s.train.stop for s in splits)


def test_known_fold_layout() -> None:
    splits = walk_forward_splits(1000, 4, 0.25, lookahead=5)
    assert [(s.train, s.validation, s.test) for s in splits] == [
        (range(145), range(150, 195), range(200, 400)),
        (range(295), range(300, 395), range(400, 600)),
        (range(445), range(450, 595), range(600, 800)),
        (range(595), range(600, 795), range(800, 1000)),
    ]
    # The last of 4 folds is the default 60/20/20 split.
    assert splits[-1] == chronological_split(1000, (0.6, 0.2, 0.2), lookahead=5)


def test_too_many_folds_for_the_data_are_refused() -> None:
    with pytest.raises(ParameterError, match="use fewer walk-forward folds"):
        walk_forward_splits(150, 10, 0.25, lookahead=5)


@pytest.mark.parametrize("folds", [1, 21])
def test_spec_limits_the_number_of_folds(folds: int) -> None:
    with pytest.raises(ParameterError, match="`walk_forward`"):
        RunSpec.build(walk_forward=folds)


SPEC = RunSpec.build(dataset="demo", epochs=40, walk_forward=3, seed=4)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return demo(days=700, seed=4)


def test_each_fold_refits_the_normaliser_on_its_own_training_rows(frame: pd.DataFrame) -> None:
    prepared = prepare(frame, SPEC)
    for split in walk_forward_splits(len(prepared.y), 3, 0.25, SPEC.horizon):
        fold = with_split(prepared, split)
        expected = features.Normalizer().fit(prepared.raw_x[: split.train.stop])
        np.testing.assert_array_equal(fold.normalizer.low_, expected.low_)
        np.testing.assert_array_equal(fold.x, expected.transform(prepared.raw_x))
        assert fold.split is split


def test_later_prices_do_not_change_an_earlier_fold(frame: pd.DataFrame) -> None:
    prepared = prepare(frame, SPEC)
    before = walk_forward(prepared, SPEC)
    first_test_bar = features.WARMUP_BARS + before["folds"][0]["test"][0]
    changed = frame.copy()
    changed.iloc[first_test_bar:] *= np.linspace(1.0, 2.0, len(frame) - first_test_bar)[:, None]
    after = walk_forward(prepare(changed, SPEC), SPEC)
    first, first_again = before["folds"][0], after["folds"][0]
    assert first["best_epoch"] == first_again["best_epoch"]
    assert first["backtest"]["threshold"] == first_again["backtest"]["threshold"]
    assert first["backtest"]["metrics"] != first_again["backtest"]["metrics"]


def test_report_has_every_fold_and_the_aggregate(frame: pd.DataFrame) -> None:
    events: list[str] = []
    report = walk_forward(prepare(frame, SPEC), SPEC, lambda e: events.append(e.data["stage"]))
    assert events == [f"walk-forward fold {k} of 3" for k in (1, 2, 3)]
    folds = report["folds"]
    assert [fold["fold"] for fold in folds] == [1, 2, 3]
    for fold in folds:
        assert fold["train"][1] + SPEC.horizon <= fold["validation"][0]
        assert set(fold["backtest"]["metrics"]) == {"strategy", "q_filtered", "buy_and_hold"}
        assert "equity" not in fold["backtest"]
    aggregate = report["aggregate"]
    assert aggregate["mean_r2"] == pytest.approx(np.mean([f["metrics"]["r2"] for f in folds]))
    assert aggregate["trades"]["strategy"] == sum(
        f["backtest"]["metrics"]["strategy"]["trades"] for f in folds
    )
    assert 0 <= aggregate["q_filter_beats_strategy"] <= 3
    json.dumps(report, allow_nan=False)


def test_too_short_data_for_the_folds_is_a_data_error(frame: pd.DataFrame) -> None:
    spec = RunSpec.build(dataset="demo", epochs=5, walk_forward=20)
    with pytest.raises(DataError, match="use fewer walk-forward folds"):
        walk_forward(prepare(frame.iloc[:300], spec), spec)


def test_cli_walk_forward_table_and_document(tmp_path: Path) -> None:
    output = tmp_path / "w.json"
    result = CliRunner().invoke(app, ["train", "--epochs", "20", "--walk-forward", "2",
                                      "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert "Walk-forward" in result.output
    document = json.loads(output.read_text())
    folds = document["walk_forward"]["folds"]
    assert len(folds) == 2
    assert folds[-1]["backtest"]["end"] == document["backtest"]["end"]  # tested to the end
