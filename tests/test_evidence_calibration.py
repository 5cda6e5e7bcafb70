"""The tests against "no skill" are honest (issue 17): on pure noise (random Q-scores
against the labels and prices of a real file) they reject at about their level, and on
planted skill (a Q built from the future label plus noise, rank IC about 0.1 on 1,000
rows) they reject nearly always.

Each run is a 1,000-bar window of the real hourly file at a random place, with
performance labels (horizon 5, so neighbouring labels overlap) of the momentum-cross
strategy. Half the noise scores are independent draws, half a smooth AR(1) series like a
real model's score: the circular shifts keep that smoothness."""

from __future__ import annotations

import numpy as np
import pytest

from ssots import evidence, features, stats, strategies
from ssots.backtest import backtest
from ssots.data import load
from ssots.labels import performance_labels

RUNS = 400
ROWS = 1000
HORIZON = 5


@pytest.fixture(scope="module")
def real_rows(real_data_dir):
    """Labels, prices, directions and times of the real hourly file past the warm-up."""
    frame, _ = load(real_data_dir / "cryptodatadownload_binance_BTCUSDT_1h.csv")
    seen = strategies.signals("momentum-cross", frame)
    close = frame["close"].to_numpy()
    y = performance_labels(
        close, seen.direction, seen.indicators["volatility20"].to_numpy(), HORIZON
    )
    usable = slice(features.WARMUP_BARS, len(frame) - HORIZON)
    return y[usable], close[usable], seen.direction[usable], frame.index[usable]


def _windows(real_rows, seed: int):
    y, close, direction, times = real_rows
    rng = np.random.default_rng(seed)
    for start in rng.integers(0, y.size - ROWS, size=RUNS):
        rows = slice(start, start + ROWS)
        yield rng, y[rows], close[rows], direction[rows], times[rows]


def _noise(rng: np.random.Generator, run: int) -> np.ndarray:
    if run % 2 == 0:
        return rng.random(ROWS)
    shocks = rng.standard_normal(ROWS)
    return np.frompyfunc(lambda a, b: 0.9 * a + b, 2, 1).accumulate(shocks).astype(float)


def _block(y, q, close, direction, times) -> evidence.TestBlock:
    result = backtest(times, close, direction, q, float(np.median(q)))
    return evidence.TestBlock(y, q, q, close, direction, result)


def test_ranking_test_rejects_pure_noise_at_its_level(real_rows) -> None:
    p_values = [
        stats.correlation_shift_test(y, _noise(rng, run)).p_value
        for run, (rng, y, *_) in enumerate(_windows(real_rows, seed=1))
    ]
    rate = np.mean(np.asarray(p_values) < 0.05)
    assert 0.02 <= rate <= 0.08, rate


def test_filter_test_rejects_pure_noise_at_its_level(real_rows) -> None:
    p_values = []
    for run, (rng, y, close, direction, times) in enumerate(_windows(real_rows, seed=2)):
        q = _noise(rng, run)
        block = _block(y, q, close, direction, times)
        observed, null = evidence.filter_shift_test(block, stats.shift_margin(y, q))
        p_values.append(stats.shift_p_value(observed, null))
    rate = np.mean(np.asarray(p_values) < 0.05)
    assert 0.02 <= rate <= 0.08, rate


def test_ranking_test_finds_planted_skill(real_rows) -> None:
    p_values, rank_ics = [], []
    for rng, y, *_ in _windows(real_rows, seed=3):
        signal = (y - y.mean()) / y.std()
        q = signal + 10.0 * rng.standard_normal(ROWS)  # rank IC about 0.1
        test = stats.correlation_shift_test(y, q)
        p_values.append(test.p_value)
        rank_ics.append(test.observed)
    assert 0.07 < np.mean(rank_ics) < 0.13
    assert np.mean(np.asarray(p_values) < 0.05) > 0.8
