"""Q-score labels (MODEL.md section 4), checked against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ssots.errors import ParameterError
from ssots.labels import label_lookahead, performance_labels, rules_labels


def test_performance_label_matches_hand_computation() -> None:
    close = np.array([100.0, 110.0, 121.0, 100.0])
    direction = np.array([1.0, -1.0, 1.0, 1.0])
    sigma = np.array([0.1, 0.2, 0.1, 0.1])
    y = performance_labels(close, direction, sigma, horizon=1)
    z0 = math.log(1.1) / 0.1
    z1 = -math.log(1.1) / 0.2
    z2 = math.log(100 / 121) / 0.1
    expected = [0.5 + 0.5 * math.tanh(z / 2) for z in (z0, z1, z2)]
    np.testing.assert_allclose(y[:3], expected, rtol=1e-12)
    assert np.isnan(y[3])


def test_performance_label_horizon_scaling_and_tail() -> None:
    close = np.exp(np.linspace(0.0, 0.9, 10))
    y = performance_labels(close, np.ones(10), np.full(10, 0.1), horizon=3)
    z = 0.3 / (0.1 * math.sqrt(3))
    np.testing.assert_allclose(y[:7], 0.5 + 0.5 * math.tanh(z / 2), rtol=1e-12)
    assert np.isnan(y[7:]).all()


def test_zero_volatility_gives_neutral_label_and_warmup_is_nan() -> None:
    close = np.array([1.0, 2.0, 3.0, 4.0])
    y = performance_labels(close, np.ones(4), np.array([np.nan, 0.0, 0.0, 0.0]), horizon=1)
    assert np.isnan(y[0])
    np.testing.assert_array_equal(y[1:3], [0.5, 0.5])


def test_rules_labels_follow_the_heuristic() -> None:
    indicators = pd.DataFrame({"rsi14": [50.0, 70.0, np.nan], "macd_hist": [1.0, -1.0, 1.0]})
    dims = pd.DataFrame({"bb_position": [0.5, 0.9, 0.5], "momentum": [0.01, -0.01, 0.0]})
    y = rules_labels(indicators, dims, seed=7)
    noise = np.random.default_rng(7).normal(0.0, 0.02, size=3)
    np.testing.assert_allclose(y[:2], [0.9 + noise[0], 0.6 + noise[1]], rtol=1e-12)
    assert np.isnan(y[2])


def test_label_lookahead_and_bad_horizon() -> None:
    assert label_lookahead("performance", 7) == 7
    assert label_lookahead("rules", 7) == 0
    with pytest.raises(ParameterError, match="`horizon`"):
        performance_labels(np.ones(5), np.ones(5), np.ones(5), horizon=0)
    with pytest.raises(ParameterError, match="`labels` must be one of"):
        label_lookahead("magic", 5)
