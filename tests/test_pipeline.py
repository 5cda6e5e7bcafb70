"""The training pipeline end to end: no leakage across the split, determinism, results."""

from __future__ import annotations

import numpy as np
import pytest

from ssots import features
from ssots.data import demo
from ssots.errors import DataError, ParameterError
from ssots.pipeline import prepare, run
from ssots.services.training import train_run
from ssots.spec import RunSpec


def test_later_prices_do_not_change_training_rows() -> None:
    frame = demo(days=600, seed=3)
    spec = RunSpec.build(dataset="demo", horizon=5)
    before = prepare(frame, spec)
    first_validation_bar = features.WARMUP_BARS + before.split.validation.start
    changed = frame.copy()
    changed.iloc[first_validation_bar:] = changed.iloc[first_validation_bar:] * 3.0
    after = prepare(changed, spec)
    train = slice(before.split.train.start, before.split.train.stop)
    np.testing.assert_array_equal(before.normalizer.low_, after.normalizer.low_)
    np.testing.assert_array_equal(before.normalizer.high_, after.normalizer.high_)
    np.testing.assert_array_equal(before.x[train], after.x[train])
    np.testing.assert_array_equal(before.y[train], after.y[train])
    assert not np.array_equal(before.y[before.split.test.start:], after.y[after.split.test.start:])


def test_run_is_deterministic_and_reports_everything() -> None:
    spec = RunSpec.build(dataset="demo", epochs=40, demo_days=400, seed=5)
    events: list[str] = []
    first = train_run(spec, on_event=lambda event: events.append(event.kind))
    second = train_run(spec)
    assert first.weights() == second.weights()
    assert events.count("epoch") == len(first.history)
    assert set(first.metrics) == {"mse", "mae", "rmse", "r2", "ic", "rank_ic", "raw_rank_ic"}
    assert set(first.baselines) == {"mean", "ridge", "hist_gradient_boosting"}
    assert len(first.weights()) == 13
    assert first.model.w.sum() == pytest.approx(1.0)
    assert first.dataset["rows"] == 400


def test_spec_errors_name_the_field() -> None:
    with pytest.raises(ParameterError, match="`lr`"):
        RunSpec.build(lr=-1)
    with pytest.raises(ParameterError, match="unknown strategy 'moon'"):
        RunSpec.build(strategy="moon")


def test_missing_dataset_is_a_data_error() -> None:
    with pytest.raises(DataError, match="no such dataset"):
        train_run(RunSpec.build(dataset="/nonexistent/prices.csv"))


def test_the_pipeline_trains_on_the_frame_it_is_given_and_resolves_nothing() -> None:
    frame = demo(days=400, seed=5)
    spec = RunSpec.build(dataset="no-such-dataset-anywhere", epochs=5, demo_days=90)
    result = run(spec, frame, source={"name": "my frame", "kind": "frame"})
    assert result.dataset == {
        "name": "my frame",
        "kind": "frame",
        "rows": 400,
        "start": frame.index[0].isoformat(),
        "end": frame.index[-1].isoformat(),
    }
