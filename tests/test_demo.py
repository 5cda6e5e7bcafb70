"""The synthetic OHLCV generator: determinism, shape, validity and argument checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import assert_canonical
from ssots.data import demo, normalize_frame
from ssots.errors import ParameterError


def test_same_seed_same_frame() -> None:
    pd.testing.assert_frame_equal(demo(days=200, seed=3), demo(days=200, seed=3), check_exact=True)


def test_different_seed_different_frame() -> None:
    first, second = demo(days=200, seed=3), demo(days=200, seed=4)
    assert not np.allclose(first["close"], second["close"])


@pytest.mark.parametrize(
    ("freq", "per_day"), [("1d", 1), ("4h", 6), ("1h", 24), ("15m", 96), ("1m", 1440)]
)
def test_length_and_spacing_per_freq(freq: str, per_day: int) -> None:
    frame = demo(days=5, seed=1, freq=freq)
    assert len(frame) == 5 * per_day
    steps = frame.index.to_series().diff().dropna()
    assert (steps == pd.Timedelta(days=1) / per_day).all()
    assert frame.index[0] == pd.Timestamp("2021-01-01", tz="UTC")


def test_canonical_layout() -> None:
    assert_canonical(demo(days=30))


def test_the_loader_accepts_demo_unchanged() -> None:
    frame = demo(days=120, seed=8, freq="4h")
    loaded, report = normalize_frame(frame, source="demo")
    pd.testing.assert_frame_equal(loaded, frame, check_exact=True)
    assert report.repairs == ()
    assert report.spacing_label == "4h"


def test_start_is_read_as_utc() -> None:
    assert demo(days=1, start="2020-03-01 12:00").index[0] == pd.Timestamp("2020-03-01 12:00Z")
    shifted = demo(days=1, start="2020-03-01T12:00+02:00").index[0]
    assert shifted == pd.Timestamp("2020-03-01 10:00Z")


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    days=st.integers(1, 60),
    freq=st.sampled_from(["1d", "4h", "1h", "15m"]),
)
def test_ohlc_always_valid(seed: int, days: int, freq: str) -> None:
    frame = demo(days=days, seed=seed, freq=freq)
    assert (frame[["open", "high", "low", "close"]] > 0).all().all()
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
    assert (frame["volume"] > 0).all()
    assert np.isfinite(frame.to_numpy()).all()


def test_open_is_previous_close() -> None:
    frame = demo(days=50, seed=2)
    np.testing.assert_array_equal(frame["open"].iloc[1:], frame["close"].iloc[:-1])


@pytest.mark.parametrize(("freq", "days"), [("1d", 3000), ("1h", 400), ("15m", 150)])
def test_daily_volatility_is_crypto_like_at_every_spacing(freq: str, days: int) -> None:
    frame = demo(days=days, seed=11, freq=freq)
    per_bar = np.log(frame["close"]).diff().std()
    daily = per_bar * np.sqrt(len(frame) / days)
    assert 0.025 < daily < 0.05


def test_volatility_clusters() -> None:
    returns = np.log(demo(days=3000, seed=5)["close"]).diff().dropna()
    assert returns.abs().autocorr(lag=1) > 0.1
    assert abs(returns.autocorr(lag=1)) < returns.abs().autocorr(lag=1)


@pytest.mark.parametrize("days", [0, -3, 2.5, True, "10"])
def test_rejects_bad_days(days: object) -> None:
    with pytest.raises(ParameterError, match="`days` must be"):
        demo(days=days)  # type: ignore[arg-type]


@pytest.mark.parametrize("freq", ["", "1x", "7h", "0m", "1s", "daily", None])
def test_rejects_bad_freq(freq: object) -> None:
    with pytest.raises(ParameterError, match="`freq` must be"):
        demo(freq=freq)  # type: ignore[arg-type]


def test_rejects_bad_seed_and_start() -> None:
    with pytest.raises(ParameterError, match="`seed` must be"):
        demo(seed=-1)
    with pytest.raises(ParameterError, match="`start` must be a date"):
        demo(start="not a date")


def test_rejects_more_bars_than_the_cap() -> None:
    with pytest.raises(ParameterError, match="use fewer days or a coarser freq"):
        demo(days=20_000, freq="1m")


@pytest.mark.parametrize("a", [0.0, 0.3, 0.77, 0.977, 0.9999])
@pytest.mark.parametrize("n", [1, 2, 3, 1000, 70_001])
def test_the_linear_filter_matches_scipys_lfilter(n: int, a: float) -> None:
    from scipy.signal import lfilter

    from ssots.data.sources.demo import _ar1_filter

    x = np.random.default_rng(n).standard_normal(n)
    expected = lfilter([1.0], [1.0, -a], x)
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(_ar1_filter(x, a), expected, rtol=0, atol=1e-12 * scale)
