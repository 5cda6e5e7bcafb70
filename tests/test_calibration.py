"""Calibration of the Q-score (MODEL.md section 5b): the maps against outside oracles, no
look-ahead, unchanged trading decisions, and weights files of both schemas."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.isotonic import IsotonicRegression

from ssots import pipeline
from ssots.artifacts import SCHEMA, SCHEMA_V1, read_weights, weights_document, write_json
from ssots.data import demo
from ssots.errors import DataError, ParameterError
from ssots.evaluate import q_model_metrics, regression_metrics
from ssots.features import WARMUP_BARS
from ssots.model import Calibration
from ssots.pipeline import RunResult, prepare, run, walk_forward
from ssots.spec import RunSpec

SPEC = RunSpec.build(dataset="demo", epochs=60, seed=4)


@pytest.fixture(scope="module")
def frame():
    return demo(days=700, seed=4)


@pytest.fixture(scope="module")
def result(frame) -> RunResult:
    return run(SPEC, frame)


def noisy_ranking(seed: int = 0, n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """A raw score in a narrow band whose labels rise with it, plus noise."""
    rng = np.random.default_rng(seed)
    q = rng.uniform(0.45, 0.6, n)
    return q, np.clip(0.2 + 0.5 * q + rng.normal(0, 0.05, n), 0, 1)


def test_affine_map_is_the_least_squares_line_held_flat_beyond_the_training_range() -> None:
    q, y = noisy_ranking()
    calibration = Calibration.fit(q, y, "affine", bounds=(0.0, 1.0))
    slope, intercept = np.polyfit(q, y, 1)
    inside = np.linspace(q.min(), q.max(), 7)
    np.testing.assert_allclose(calibration(inside), intercept + slope * inside, rtol=1e-10)
    assert calibration(0.0) == pytest.approx(intercept + slope * q.min())
    assert calibration(1.0) == pytest.approx(intercept + slope * q.max())


def test_a_falling_relation_gives_the_training_mean_not_a_reversed_ranking() -> None:
    q, y = noisy_ranking()
    calibration = Calibration.fit(q, 1.0 - y, "affine")
    assert calibration.knots[0].size == 1
    np.testing.assert_allclose(calibration(q), np.mean(1.0 - y))


def test_isotonic_map_agrees_with_scikit_learn() -> None:
    q, y = noisy_ranking(1)
    calibration = Calibration.fit(q, y, "isotonic", bounds=(0.0, 1.0))
    oracle = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(q, y)
    probe = np.r_[0.0, np.linspace(0.4, 0.65, 500), 1.0]
    np.testing.assert_allclose(calibration(probe), oracle.predict(probe), rtol=0, atol=1e-12)
    assert np.all(np.diff(calibration(np.sort(probe))) >= 0)


def test_identity_returns_the_raw_q() -> None:
    q = np.linspace(0, 1, 11)
    np.testing.assert_array_equal(Calibration.identity()(q), q)
    assert Calibration.fit([0.3], [0.9], "identity") == Calibration.identity()


@pytest.mark.parametrize("kind", ["affine", "isotonic", "identity"])
def test_a_stored_map_gives_bit_identical_values(kind: str) -> None:
    q, y = noisy_ranking(2)
    calibration = Calibration.fit(q, y, kind)
    again = Calibration.from_dict(json.loads(json.dumps(calibration.to_dict())))
    assert again == calibration
    np.testing.assert_array_equal(again(q), calibration(q))


@pytest.mark.parametrize(
    "data",
    [{"kind": "logistic", "q": [0, 1], "y": [0, 1]}, {"kind": "affine", "q": [1, 0], "y": [0, 1]},
     {"kind": "affine", "q": [0, 1], "y": [1, 0]}, {"kind": "affine", "q": [0, 1]},
     {"kind": "affine", "q": [0, 1], "y": [0, float("nan")]}],
)
def test_invalid_maps_are_refused(data: dict) -> None:
    with pytest.raises(ParameterError, match="calibration"):
        Calibration.from_dict(data)


def test_metrics_judge_the_calibrated_q_and_keep_the_raw_rank_ic() -> None:
    q, y = noisy_ranking(3)
    calibrated = Calibration.fit(q, y, "isotonic")(q)
    metrics = q_model_metrics(y, calibrated, q)
    assert {key: metrics[key] for key in regression_metrics(y, calibrated)} == (
        regression_metrics(y, calibrated)
    )
    assert metrics["raw_rank_ic"] == pytest.approx(spearmanr(y, q).statistic)
    assert metrics["raw_rank_ic"] != metrics["rank_ic"]  # isotonic ties change the rank IC


def test_the_run_reports_the_calibrated_q_fitted_on_the_training_rows(
    frame, result: RunResult
) -> None:
    prepared = prepare(frame, SPEC)
    raw = result.model.predict(prepared.x)
    train, test = prepared.split.train, prepared.split.test
    expected = Calibration.fit(
        raw[train.start : train.stop], prepared.y[train.start : train.stop], "affine", (0.0, 1.0)
    )
    assert result.calibration == expected
    y_test, raw_test = prepared.y[test.start : test.stop], raw[test.start : test.stop]
    assert result.metrics == q_model_metrics(y_test, expected(raw_test), raw_test)
    assert result.metrics["r2"] > regression_metrics(y_test, raw_test)["r2"]


def test_changing_test_labels_leaves_the_model_and_the_map_unchanged(
    frame, result: RunResult
) -> None:
    prepared = prepare(frame, SPEC)
    first_test_bar = WARMUP_BARS + prepared.split.test.start
    changed = frame.copy()
    changed.iloc[first_test_bar + 1 :] = changed.iloc[first_test_bar + 1 :] * 1.7
    changed.iloc[first_test_bar + 10 :: 3] = changed.iloc[first_test_bar + 10 :: 3] * 0.8
    again = run(SPEC, changed)
    after = prepare(changed, SPEC)
    assert not np.array_equal(after.y[prepared.split.test.start :],
                              prepared.y[prepared.split.test.start :])
    np.testing.assert_array_equal(again.model.to_vector(), result.model.to_vector())
    assert again.calibration == result.calibration
    assert again.metrics["r2"] != result.metrics["r2"]


@pytest.mark.parametrize("kind", ["identity", "isotonic"])
def test_backtest_books_are_identical_with_and_without_calibration(
    frame, result: RunResult, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Isotonic maps merge raw scores into ties: thresholding the calibrated Q would trade
    # differently, so equal books show that the Q-filter reads the raw Q.
    monkeypatch.setattr(pipeline, "DEFAULT_CALIBRATION", kind)
    other = run(SPEC, frame)
    assert other.calibration.kind == kind
    assert other.metrics["r2"] != result.metrics["r2"]  # the map does act on the metrics
    assert other.metrics["raw_rank_ic"] == result.metrics["raw_rank_ic"]
    assert other.backtest.to_dict(max_points=None) == result.backtest.to_dict(max_points=None)
    assert result.backtest.metrics["q_filtered"]["trades"] > 0


def test_walk_forward_folds_calibrate_on_their_own_training_rows(frame) -> None:
    spec = SPEC.model_copy(update={"walk_forward": 3, "epochs": 30})
    prepared = prepare(frame, spec)
    report = walk_forward(prepared, spec)
    maps = [Calibration.from_dict(fold["calibration"]) for fold in report["folds"]]
    assert maps[0] != maps[1] != maps[2]
    for fold in report["folds"]:
        assert "raw_rank_ic" in fold["metrics"]
    assert "raw_rank_ic" in report["aggregate"]["metrics"]
    start, stop = report["folds"][-1]["test"]
    y = prepared.y.copy()
    y[start:stop] = 1.0 - y[start:stop]  # the last fold's test labels, turned upside down
    changed = walk_forward(replace(prepared, y=y), spec)
    for before, after in zip(report["folds"], changed["folds"], strict=True):
        assert after["calibration"] == before["calibration"]
    assert changed["folds"][-1]["metrics"] != report["folds"][-1]["metrics"]


def test_weights_file_stores_the_map_and_scores_calibrated_and_raw_q(
    frame, result: RunResult, tmp_path: Path
) -> None:
    document = weights_document(result)
    assert document["schema"] == SCHEMA == "ssots.weights/2"
    saved = read_weights(write_json(tmp_path / "w.json", document))
    assert saved.calibration == result.calibration
    scores = saved.score(frame)
    prepared = prepare(frame, SPEC)
    np.testing.assert_array_equal(scores["q_raw"].to_numpy()[: len(prepared.x)],
                                  result.model.predict(prepared.x))
    np.testing.assert_array_equal(scores["q"].to_numpy(),
                                  result.calibration(scores["q_raw"].to_numpy()))


def test_a_schema_1_file_loads_with_no_calibration_and_trades_the_same(
    frame, result: RunResult, tmp_path: Path
) -> None:
    document = weights_document(result)
    current = read_weights(write_json(tmp_path / "v2.json", document))
    del document["calibration"]
    document["schema"] = SCHEMA_V1
    old = read_weights(write_json(tmp_path / "v1.json", document))
    assert old.calibration == Calibration.identity()
    scores = old.score(frame)
    np.testing.assert_array_equal(scores["q"].to_numpy(), scores["q_raw"].to_numpy())
    assert (old.backtest(frame).to_dict(max_points=None)
            == current.backtest(frame).to_dict(max_points=None))


def test_a_schema_2_file_without_its_map_is_damaged(result: RunResult, tmp_path: Path) -> None:
    document = weights_document(result)
    del document["calibration"]
    with pytest.raises(DataError, match="is damaged"):
        read_weights(write_json(tmp_path / "w.json", document))


def test_cli_train_shows_the_calibrated_metrics_the_raw_rank_ic_and_the_map(
    tmp_path: Path,
) -> None:
    from typer.testing import CliRunner

    from ssots.cli import app

    output = tmp_path / "w.json"
    shown = CliRunner().invoke(app, ["train", "--epochs", "20", "--output", str(output)])
    assert shown.exit_code == 0, shown.output
    document = json.loads(output.read_text())
    assert "calibrated Q-model vs baselines" in shown.output
    raw_rank_ic = f"{document['metrics']['raw_rank_ic']:.4f}"
    assert re.search(rf"rank_ic \(raw Q\) +│ +{re.escape(raw_rank_ic)} │", shown.output)
    assert "Calibration (affine, training rows)" in shown.output
