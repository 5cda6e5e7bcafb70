"""The evidence of a run: the batch book simulation is the backtest's, the filter test
starts from the backtest's own Sharpe ratios, the verdict reads as issue 17 asks, and the
evidence reaches the run result and the weights document (old documents still load)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from ssots import evidence, pipeline, stats
from ssots.artifacts import saved_model, weights_document
from ssots.backtest import backtest, bar_returns, equity_paths, simulate
from ssots.data import demo
from ssots.spec import RunSpec


@pytest.mark.parametrize("floor", [0.0, 0.8])
def test_equity_paths_are_the_simulated_books(floor: float) -> None:
    rng = np.random.default_rng(1)
    close = 100 * np.exp(np.cumsum(0.05 * rng.standard_normal(400)))
    positions = np.repeat(rng.choice([-1, 0, 1], size=(30, 80)), 5, axis=1)
    paths = equity_paths(close, positions, 0.0015, floor)
    for row, held in zip(paths, positions, strict=True):
        np.testing.assert_allclose(row, simulate(close, held, 0.0015, floor).equity, rtol=1e-12)


def _block(seed: int, skill: float) -> evidence.TestBlock:
    rng = np.random.default_rng(seed)
    frame = demo(days=300, seed=seed)
    close = frame["close"].to_numpy()
    direction = np.where(rng.random(close.size) < 0.5, -1.0, 1.0)
    future = np.append(np.diff(np.log(close)), 0.0) * direction
    y = 0.5 + 0.5 * np.tanh(future / future.std())
    q = skill * (y - y.mean()) / y.std() + rng.standard_normal(close.size)
    result = backtest(frame.index, close, direction, q, float(np.median(q)))
    return evidence.TestBlock(y, q, q, close, direction, result)


def test_filter_test_starts_from_the_backtest_sharpe_ratios() -> None:
    block = _block(2, 0.0)
    observed, null = evidence.filter_shift_test(block, 5)
    metrics = block.backtest.metrics
    gain = metrics["q_filtered"]["sharpe"] - metrics["strategy"]["sharpe"]
    assert observed == pytest.approx(gain)
    assert null.size == evidence.FILTER_SHIFTS
    assert np.isfinite(null).all()


def test_block_evidence_has_intervals_tests_and_a_verdict() -> None:
    found = evidence.block_evidence(_block(3, 1.0), seed=1)
    iv = found["intervals"]
    assert iv["raw_rank_ic"]["low"] < iv["raw_rank_ic"]["value"] < iv["raw_rank_ic"]["high"]
    for book in ("strategy", "q_filtered", "buy_and_hold"):
        assert iv["sharpe"][book]["low"] < iv["sharpe"][book]["high"]
    assert found["skill"]
    assert found["ranking"]["p_value"] < 0.01
    assert found["verdict"].startswith("evidence of skill: rank IC ")
    again = evidence.block_evidence(_block(3, 1.0), seed=1)
    assert again == found  # a fixed seed: the same evidence
    json.dumps(found, allow_nan=False)


def test_no_skill_evidence_says_so() -> None:
    found = evidence.block_evidence(_block(4, 0.0), seed=1)
    assert not found["skill"]
    assert found["verdict"].startswith("no evidence of skill: rank IC ")


def _evidence(value, low, high, p, gain=0.1, gain_p=0.4):
    return {
        "intervals": {"raw_rank_ic": {"value": value, "low": low, "high": high}},
        "ranking": {"p_value": p},
        "filter": {"observed": gain, "p_value": gain_p},
    }


def test_verdict_lines_read_as_the_issue_asks() -> None:
    skill = evidence.verdict(_evidence(0.12, 0.05, 0.19, 0.003, 0.8, 0.01))
    assert skill.startswith("evidence of skill: rank IC 0.12 [0.05, 0.19], p = 0.003")
    none = evidence.verdict(_evidence(0.02, -0.05, 0.09, 0.41))
    assert none.startswith(
        "no evidence of skill: rank IC 0.02 [-0.05, 0.09], p = 0.41: this filter is "
        "indistinguishable from a random one with the same exposure"
    )
    adjusted = evidence.verdict(_evidence(0.12, 0.05, 0.19, 0.003), adjusted_p=0.09)
    assert adjusted.startswith("no evidence of skill")
    assert "BH-adjusted" in adjusted
    folds = {**_evidence(0.05, 0.01, 0.09, 0.02), "folds": {
        "raw_rank_ic": [0.1, -0.02, 0.04], "p_value": [0.01, 0.6, 0.2]}}
    assert evidence.verdict(folds).endswith(
        "; by fold: rank IC -0.02 .. 0.10, positive in 2 of 3, p < 0.05 in 1"
    )


@pytest.fixture(scope="module")
def walk_forward_run() -> pipeline.RunResult:
    spec = RunSpec.build(dataset="demo", epochs=20, walk_forward=3, seed=4, demo_days=500)
    return pipeline.run(spec, demo(days=500, seed=4))


def test_a_run_carries_its_evidence_into_the_weights_document(walk_forward_run) -> None:
    result = walk_forward_run
    found = result.evidence
    assert found["scope"] == "walk-forward, 3 folds pooled"
    assert found["verdict"] == found["walk_forward"]["verdict"]
    assert "by fold: rank IC" in found["verdict"]
    assert found["test"]["rows"] == result.split_sizes["test"]
    assert found["test"]["ranking"]["observed"] == pytest.approx(result.metrics["raw_rank_ic"])
    sharpe = found["test"]["intervals"]["sharpe"]["q_filtered"]["value"]
    assert sharpe == pytest.approx(result.backtest.metrics["q_filtered"]["sharpe"])
    for fold in result.walk_forward["folds"]:
        assert fold["evidence"]["verdict"]
    pooled = found["walk_forward"]
    assert pooled["blocks"] == 3
    assert pooled["folds"]["raw_rank_ic"] == pytest.approx(
        [fold["metrics"]["raw_rank_ic"] for fold in result.walk_forward["folds"]]
    )
    document = weights_document(result)
    assert document["evidence"] == found
    json.dumps(document, allow_nan=False)


def test_documents_without_evidence_still_load(walk_forward_run) -> None:
    document = copy.deepcopy(weights_document(walk_forward_run))
    del document["evidence"]
    assert saved_model(document).strategy == walk_forward_run.spec.strategy


def test_bar_returns_match_the_metrics() -> None:
    block = _block(5, 0.0)
    returns = bar_returns(block.backtest.books["strategy"].equity)
    scale = block.scale
    assert stats.rows_sharpe(returns[None, :])[0] * scale == pytest.approx(
        block.backtest.metrics["strategy"]["sharpe"]
    )


def test_cli_train_prints_the_evidence_and_the_verdict(tmp_path) -> None:
    from typer.testing import CliRunner

    from ssots.cli import app

    output = tmp_path / "w.json"
    result = CliRunner().invoke(
        app, ["train", "--dataset", "demo", "--epochs", "5", "--no-track", "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    assert "Evidence on the test split" in result.output
    assert "Verdict (test split):" in result.output
    assert "evidence of skill: rank IC" in " ".join(result.output.split())
    document = json.loads(output.read_text())
    assert document["evidence"]["verdict"] in " ".join(result.output.split())


def test_runs_show_prints_the_recorded_verdict(tmp_path) -> None:
    from typer.testing import CliRunner

    from ssots.cli import app

    output = tmp_path / "w.json"
    trained = CliRunner().invoke(
        app, ["train", "--dataset", "demo", "--epochs", "5", "--name", "evidence-run",
              "--output", str(output)]
    )
    assert trained.exit_code == 0, trained.output
    shown = CliRunner().invoke(app, ["runs", "show", "evidence-run"])
    assert shown.exit_code == 0, shown.output
    verdict = json.loads(output.read_text())["evidence"]["verdict"]
    assert f"verdict: test split: {verdict}" in " ".join(shown.output.split())


def test_runs_compare_gives_the_verdicts_with_bh_across_the_runs(tmp_path) -> None:
    from typer.testing import CliRunner

    from ssots.cli import app

    for name, seed in (("bh-a", "1"), ("bh-b", "2")):
        trained = CliRunner().invoke(
            app, ["train", "--dataset", "demo", "--epochs", "5", "--seed", seed, "--name", name,
                  "--output", str(tmp_path / f"{name}.json")]
        )
        assert trained.exit_code == 0, trained.output
    shown = CliRunner().invoke(app, ["runs", "compare", "bh-a", "bh-b"])
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert text.count("across these runs: ") == 2
    assert "(BH-adjusted)" in text


def test_report_verdicts_adjust_by_benjamini_hochberg() -> None:
    sections = [_evidence(0.2, 0.1, 0.3, 0.01), _evidence(0.1, 0.0, 0.2, 0.04), None,
                _evidence(0.0, -0.1, 0.1, 0.5)]
    found = evidence.report_verdicts(sections)
    assert found[2] is None
    assert [f["adjusted_p"] for f in (found[0], found[1], found[3])] == pytest.approx(
        [0.03, 0.06, 0.5]
    )
    assert [f["skill"] for f in (found[0], found[1], found[3])] == [True, False, False]
    assert found[1]["verdict"].startswith(
        "no evidence of skill: rank IC 0.10 [0.00, 0.20], p = 0.06 (BH-adjusted)"
    )
