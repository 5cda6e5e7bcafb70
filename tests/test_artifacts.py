"""The weights file: what it holds, its round trip, and refusing files that are not one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ssots.artifacts import SCHEMA, read_weights, weights_document, write_json
from ssots.data import demo
from ssots.errors import DataError
from ssots.features import DIMENSIONS
from ssots.pipeline import RunResult, prepare
from ssots.services.training import train_run
from ssots.spec import RunSpec

SPEC = RunSpec.build(dataset="demo", epochs=30, demo_days=400)


@pytest.fixture(scope="module")
def result() -> RunResult:
    return train_run(SPEC)


@pytest.fixture(scope="module")
def document(result: RunResult) -> dict:
    return weights_document(result)


def test_document_holds_everything_the_issue_lists(document: dict) -> None:
    assert document["schema"] == SCHEMA
    assert document["dimensions"] == list(DIMENSIONS)
    assert list(document["parameters"]) == [f"w_{d}" for d in DIMENSIONS] + [
        "alpha", "beta", "gamma", "delta_min", "delta_max"]
    assert set(document["normalizer"]) == {"lower_pct", "upper_pct", "low", "high"}
    assert (document["strategy"], document["labels"], document["horizon"]) == (
        "momentum-cross", "performance", 5)
    assert {"sha256", "rows", "start", "end", "spacing"} <= set(document["data"])
    assert len(document["history"]) >= 1
    assert "created_at" in document
    assert {"mse", "mae", "rmse", "r2", "ic", "rank_ic", "raw_rank_ic"} == set(document["metrics"])
    assert document["calibration"]["kind"] == "affine"


def test_round_trip_gives_the_same_model_and_normaliser(
    result: RunResult, document: dict, tmp_path: Path
) -> None:
    path = write_json(tmp_path / "w.json", document)
    assert json.loads(path.read_text()) == document
    saved = read_weights(path)
    raw_x = prepare(demo(days=400, seed=7), SPEC).raw_x
    x = saved.normalizer.transform(raw_x)
    np.testing.assert_array_equal(x, result.normalizer.transform(raw_x))
    np.testing.assert_array_equal(saved.model.predict(x), result.model.predict(x))


@pytest.mark.parametrize(
    ("content", "phrase"),
    [("not json", "is not JSON"), ('{"schema": "other"}', "is not an SSO-TS weights file"),
     (json.dumps({"schema": SCHEMA, "dimensions": list(DIMENSIONS)}), "is damaged")],
)
def test_other_files_are_refused(tmp_path: Path, content: str, phrase: str) -> None:
    path = tmp_path / "w.json"
    path.write_text(content)
    with pytest.raises(DataError, match=phrase):
        read_weights(path)
