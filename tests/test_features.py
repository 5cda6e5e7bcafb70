"""Indicators, dimensions, the look-ahead check and the Normalizer (MODEL.md sections 2, 3, 6).

TA-Lib is the reference implementation here only; ``ssots.features`` does not import it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import REAL_FILES
from ssots.data import load
from ssots.errors import DataError, ParameterError
from ssots.features import (
    DIMENSIONS,
    INDICATORS,
    WARMUP_BARS,
    Normalizer,
    check_no_lookahead,
    compute_indicators,
    dimensions,
)
from talib_reference import talib_indicators

VALUE_RTOL = 1e-8
"""MODEL.md section 2: agreement with TA-Lib after warm-up."""
MACD_RTOL = 1e-6
"""MODEL.md section 2: MACD agreement (TA-Lib seeds its inner EMAs its own way)."""
MACD_PRICE_ATOL = 1e-12
"""MACD columns are price differences that cross 0, where a relative error is undefined;
next to MACD_RTOL they may differ by this fraction of the close (float rounding of prices
is ~1e-16 of the close, a meaningful MACD at least ~1e-6)."""
MACD_COLUMNS = ("macd", "macd_signal", "macd_hist")
FLAT_BITSTAMP = "bitstamp_1min_kaggle_2012_sample.csv"
LOOKAHEAD_FILE = "kaggle_coin_Bitcoin.csv"
REQUIRED_FILES = (
    "kaggle_coin_Bitcoin.csv",
    "binance_klines_BTCUSDT_1h_2022-01.csv",
    "yahoo_BTC-USD_daily.csv",
    "cryptodatadownload_binance_BTCUSDT_1h.csv",
    FLAT_BITSTAMP,
)


def real_path(name: str) -> Path:
    path = next((path for path in REAL_FILES if path.name == name), None)
    assert path is not None, f"missing real file {name}"
    return path


def load_real(name: str) -> pd.DataFrame:
    frame, _ = load(real_path(name))
    return frame


@pytest.fixture(scope="module", params=[path.name for path in REAL_FILES])
def real_frame(request: pytest.FixtureRequest) -> pd.DataFrame:
    """Each real file (kaggle, binance, yahoo, cryptodatadownload, bitstamp, ...) loaded."""
    return load_real(request.param)


def assert_matches_talib(indicators: pd.DataFrame, close: np.ndarray) -> None:
    """Same NaN warm-up as TA-Lib's lookback, then the MODEL.md tolerances."""
    for name, expected in talib_indicators(close).items():
        actual = indicators[name].to_numpy()
        np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg=name)
        valid = ~np.isnan(expected)
        if name in MACD_COLUMNS:
            error = np.abs(actual[valid] - expected[valid])
            allowed = MACD_RTOL * np.abs(expected[valid]) + MACD_PRICE_ATOL * close[valid]
            assert np.all(error <= allowed), f"{name}: worst excess {np.max(error - allowed)}"
        else:
            np.testing.assert_allclose(
                actual[valid], expected[valid], rtol=VALUE_RTOL, atol=0.0, err_msg=name
            )


def frame_of(close: np.ndarray) -> pd.DataFrame:
    """A canonical OHLCV frame around the given closes (hourly, UTC)."""
    index = pd.date_range("2024-01-01", periods=close.size, freq="h", tz="UTC")
    return pd.DataFrame(
        {"open": close, "high": close, "low": close, "close": close, "volume": 1.0},
        index=index,
    )


def random_walk(n_bars: int, seed: int = 3, start: float = 40_000.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return start * np.exp(np.cumsum(rng.normal(0.0, 0.01, n_bars)))


# --- indicators -----------------------------------------------------------------------


def test_real_files_for_the_agreement_tests_are_present(real_data_dir: Path) -> None:
    # the agreement tests run once per file found: an empty folder must not pass silently
    present = {path.name for path in real_data_dir.glob("*.csv")}

    assert set(REQUIRED_FILES) <= present


def test_indicators_match_talib_on_real_files(real_frame: pd.DataFrame) -> None:
    indicators = compute_indicators(real_frame)

    assert_matches_talib(indicators, real_frame["close"].to_numpy())


@pytest.mark.parametrize("n_bars", [0, 1, 5, 14, 15, 19, 20, 21, 26, 33, 34, 49, 50, 51])
def test_short_series_warm_up_matches_talib(n_bars: int) -> None:
    close = random_walk(n_bars)

    assert_matches_talib(compute_indicators(frame_of(close)), close)


@pytest.mark.parametrize(
    ("start", "sigma"),
    [(40_000.0, 0.001), (0.05, 0.01), (3.0, 0.0002)],
    ids=["btc-minutes", "low-priced-coin", "quiet-minutes"],
)
def test_indicators_match_talib_on_a_million_bar_walk(start: float, sigma: float) -> None:
    rng = np.random.default_rng(11)
    close = start * np.exp(np.cumsum(rng.normal(0.0, sigma, 1_000_000)))

    assert_matches_talib(compute_indicators(frame_of(close)), close)


def test_window_sums_do_not_drift_over_a_million_bars() -> None:
    # compensated running sums: late windows match a direct mean and std of their closes
    close = random_walk(1_000_000, seed=4)
    indicators = compute_indicators(frame_of(close))
    rows = np.linspace(WARMUP_BARS, close.size - 1, 200).astype(int)
    windows_20 = np.lib.stride_tricks.sliding_window_view(close, 20)[rows - 19]
    windows_50 = np.lib.stride_tricks.sliding_window_view(close, 50)[rows - 49]
    band = (indicators["bb_upper"] - indicators["bb_middle"]).to_numpy()[rows] / 2.0

    np.testing.assert_allclose(
        indicators["sma20"].to_numpy()[rows], windows_20.mean(axis=1), rtol=1e-14
    )
    np.testing.assert_allclose(
        indicators["sma50"].to_numpy()[rows], windows_50.mean(axis=1), rtol=1e-14
    )
    np.testing.assert_allclose(band, windows_20.std(axis=1), rtol=1e-7)


def test_flat_window_after_moves_has_zero_deviation() -> None:
    close = np.r_[random_walk(300), np.full(40, 41_234.5678)]

    indicators = compute_indicators(frame_of(close)).iloc[-21:]

    assert (indicators["bb_upper"] == indicators["bb_lower"]).all()
    assert (indicators["bb_middle"] == 41_234.5678).all()
    assert (indicators["volatility20"].iloc[1:] == 0.0).all()


def test_indicator_frame_layout() -> None:
    frame = frame_of(random_walk(80))

    indicators = compute_indicators(frame)

    assert list(indicators.columns) == list(INDICATORS)
    assert (indicators.dtypes == np.float64).all()
    assert indicators.index.equals(frame.index)


def test_flat_prices_follow_talib_conventions() -> None:
    close = np.full(120, 40_000.123)

    indicators = compute_indicators(frame_of(close))

    assert_matches_talib(indicators, close)
    after = indicators.iloc[WARMUP_BARS:]
    assert (after["rsi14"] == 0.0).all()  # TA-Lib: no gains and no losses -> RSI 0
    assert (after["bb_upper"] == after["bb_lower"]).all()
    assert (after["volatility20"] == 0.0).all()


def test_rising_prices_have_rsi_100() -> None:
    close = np.linspace(100.0, 200.0, 60)

    rsi = compute_indicators(frame_of(close))["rsi14"].to_numpy()

    np.testing.assert_array_equal(rsi[14:], 100.0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda frame: frame.drop(columns="close"), "no `close` column"),
        (lambda frame: frame.assign(close=np.where(frame.index.hour == 5, np.nan, 1.0)), "NaN"),
        (lambda frame: frame.assign(close=-frame["close"]), "positive"),
    ],
)
def test_unusable_close_is_refused(
    change: Callable[[pd.DataFrame], pd.DataFrame], message: str
) -> None:
    frame = change(frame_of(random_walk(60)))

    with pytest.raises(DataError, match=message):
        compute_indicators(frame)


# --- dimensions -----------------------------------------------------------------------


def test_dimensions_layout_and_warm_up(real_frame: pd.DataFrame) -> None:
    values = dimensions(real_frame)

    assert list(values.columns) == list(DIMENSIONS)
    assert (values.dtypes == np.float64).all()
    assert values.index.equals(real_frame.index)
    assert values.iloc[WARMUP_BARS - 1].isna().any()
    assert np.isfinite(values.iloc[WARMUP_BARS:].to_numpy()).all()


def test_dimensions_follow_model_definitions(real_frame: pd.DataFrame) -> None:
    close = real_frame["close"].to_numpy()
    ref = talib_indicators(close)
    width = ref["bb_upper"] - ref["bb_lower"]
    with np.errstate(divide="ignore", invalid="ignore"):
        position = np.where(width == 0.0, 0.5, (close - ref["bb_lower"]) / width)
    expected = {
        "sma_trend": ref["sma20"] / ref["sma50"] - 1.0,
        "ema_trend": ref["ema12"] / ref["ema26"] - 1.0,
        "rsi": ref["rsi14"] / 100.0,
        "macd_hist": ref["macd_hist"] / close,
        "bb_width": width / ref["bb_middle"],
        "volatility": ref["volatility20"],
        "momentum": ref["momentum5"],
        "bb_position": position,
    }

    # differences (trend ratios, histogram) lose digits near 0: there the tolerance is
    # relative to the operands' magnitude, not the result's
    atol = {"macd_hist": MACD_PRICE_ATOL, "sma_trend": 1e-12, "ema_trend": 1e-12}

    values = dimensions(real_frame).iloc[WARMUP_BARS:]

    for name, column in expected.items():
        np.testing.assert_allclose(
            values[name].to_numpy(),
            column[WARMUP_BARS:],
            rtol=1e-6,
            atol=atol.get(name, 1e-9),
            err_msg=name,
        )


def test_flat_prices_give_bb_position_one_half() -> None:
    values = dimensions(frame_of(np.full(120, 40_000.123))).iloc[WARMUP_BARS:]

    assert (values["bb_position"] == 0.5).all()
    assert (values["bb_width"] == 0.0).all()
    assert (values["rsi"] == 0.0).all()
    assert (values[["sma_trend", "ema_trend", "macd_hist", "volatility", "momentum"]] == 0).all(
        axis=None
    )


def test_flat_bitstamp_minutes_have_no_inf_or_nan_after_warm_up() -> None:
    frame = load_real(FLAT_BITSTAMP)
    indicators = compute_indicators(frame)
    collapsed = (indicators["bb_upper"] == indicators["bb_lower"]).to_numpy()
    assert collapsed[WARMUP_BARS:].sum() > 1000, "the file should contain long flat runs"

    values = dimensions(frame, indicators).iloc[WARMUP_BARS:]

    assert np.isfinite(values.to_numpy()).all()
    assert (values["bb_position"].to_numpy()[collapsed[WARMUP_BARS:]] == 0.5).all()


def test_dimensions_reuse_given_indicators() -> None:
    frame = frame_of(random_walk(200))
    indicators = compute_indicators(frame)
    doctored = indicators.assign(rsi14=50.0)

    pd.testing.assert_frame_equal(dimensions(frame, indicators), dimensions(frame))
    assert (dimensions(frame, doctored)["rsi"] == 0.5).all()


def test_output_columns_do_not_alias_each_other() -> None:
    frame = frame_of(random_walk(80))
    indicators = compute_indicators(frame)
    values = dimensions(frame, indicators)
    before = indicators.copy()

    indicators.loc[indicators.index[60], "sma20"] = -1.0
    values.loc[values.index[60], ["volatility", "momentum"]] = -1.0

    assert indicators["bb_middle"].iloc[60] == before["bb_middle"].iloc[60]
    pd.testing.assert_frame_equal(indicators.drop(columns="sma20"), before.drop(columns="sma20"))


@pytest.mark.parametrize(
    "change",
    [
        lambda indicators: indicators.drop(columns="macd_hist"),
        lambda indicators: indicators.iloc[1:],
    ],
)
def test_dimensions_refuse_mismatched_indicators(
    change: Callable[[pd.DataFrame], pd.DataFrame],
) -> None:
    frame = frame_of(random_walk(80))

    with pytest.raises(ParameterError):
        dimensions(frame, change(compute_indicators(frame)))


# --- look-ahead check -----------------------------------------------------------------


def lookahead_cuts(n_rows: int) -> list[int]:
    """Every row of the warm-up region and 60 spread over the rest, including the last."""
    spread = np.linspace(WARMUP_BARS + 10, n_rows - 1, 60).astype(int)
    return [*range(WARMUP_BARS + 10), *spread.tolist()]


def dimensions_only(frame: pd.DataFrame) -> pd.DataFrame:
    return dimensions(frame)


@pytest.mark.parametrize("name", [LOOKAHEAD_FILE, FLAT_BITSTAMP])
@pytest.mark.parametrize("compute", [compute_indicators, dimensions_only])
def test_indicators_and_dimensions_use_no_future_bars(
    compute: Callable[[pd.DataFrame], pd.DataFrame], name: str
) -> None:
    frame = load_real(name)

    assert check_no_lookahead(compute, frame, lookahead_cuts(len(frame))) == []


def peeking_features(frame: pd.DataFrame) -> pd.DataFrame:
    """A deliberately biased fixture: ``peek`` reads bar t+1 (negative shift)."""
    close = frame["close"]
    return pd.DataFrame(
        {"honest": close / close.shift(1) - 1.0, "peek": close.shift(-1) / close - 1.0},
        index=frame.index,
    )


def centred_mean(frame: pd.DataFrame) -> pd.DataFrame:
    """Biased: a centred rolling mean reads two bars ahead."""
    return frame[["close"]].rolling(5, center=True).mean()


def whole_series_zscore(frame: pd.DataFrame) -> pd.DataFrame:
    """Biased: scaling with the whole series' mean and std (the prototype leak)."""
    close = frame[["close"]]
    return (close - close.mean()) / close.std()


@pytest.mark.parametrize(
    ("compute", "expected"),
    [(peeking_features, ["peek"]), (centred_mean, ["close"]), (whole_series_zscore, ["close"])],
)
def test_lookahead_check_catches_biased_features(
    compute: Callable[[pd.DataFrame], pd.DataFrame], expected: list[str]
) -> None:
    frame = load_real(LOOKAHEAD_FILE)

    assert check_no_lookahead(compute, frame, lookahead_cuts(len(frame))) == expected


@pytest.mark.parametrize("cuts", [[], [-1], [80]])
def test_lookahead_check_refuses_bad_cut_points(cuts: list[int]) -> None:
    with pytest.raises(ParameterError):
        check_no_lookahead(compute_indicators, frame_of(random_walk(80)), cuts)


@pytest.mark.parametrize(
    "compute",
    [
        lambda frame: frame[["close"]].iloc[1:],
        lambda frame: frame[["close"]] if len(frame) > 40 else frame[["open"]],
    ],
    ids=["drops-rows", "changes-columns"],
)
def test_lookahead_check_refuses_misshapen_features(
    compute: Callable[[pd.DataFrame], pd.DataFrame],
) -> None:
    with pytest.raises(ParameterError, match="`compute` returned"):
        check_no_lookahead(compute, frame_of(random_walk(80)), [10, 50])


# --- Normalizer -----------------------------------------------------------------------


def test_normalizer_clips_to_training_percentiles_then_scales() -> None:
    train = np.linspace(0.0, 100.0, 101)[:, None]

    scaled = Normalizer().fit_transform(train)[:, 0]

    assert scaled.min() == 0.0
    assert scaled.max() == 1.0
    assert scaled[:2].tolist() == [0.0, 0.0]  # 0 and 1 are at or below the 1st percentile
    assert scaled[50] == pytest.approx((50.0 - 1.0) / 98.0)
    assert scaled[-2:].tolist() == [1.0, 1.0]


def test_normalizer_bounds_are_the_training_percentiles() -> None:
    train = np.random.default_rng(5).normal(size=(500, 3))

    normalizer = Normalizer(lower_pct=5.0, upper_pct=90.0).fit(train)

    np.testing.assert_allclose(normalizer.low_, np.percentile(train, 5.0, axis=0))
    np.testing.assert_allclose(normalizer.high_, np.percentile(train, 90.0, axis=0))


def test_normalizer_maps_constant_column_to_one_half() -> None:
    train = np.column_stack([np.full(50, 3.0), np.arange(50.0)])
    normalizer = Normalizer().fit(train)

    scaled = normalizer.transform(np.array([[3.0, 10.0], [-7.0, 20.0]]))

    np.testing.assert_array_equal(scaled[:, 0], 0.5)


def test_normalizer_clips_later_rows_to_unit_interval() -> None:
    normalizer = Normalizer().fit(np.arange(100.0)[:, None])

    scaled = normalizer.transform(np.array([[-1e6], [50.0], [1e6]]))[:, 0]

    assert scaled[0] == 0.0
    assert 0.0 < scaled[1] < 1.0
    assert scaled[2] == 1.0


def test_normalizer_is_fitted_on_training_rows_only() -> None:
    rows = dimensions(load_real(LOOKAHEAD_FILE)).iloc[WARMUP_BARS:].to_numpy()
    n_train = int(0.6 * len(rows))
    changed = rows.copy()
    changed[n_train:] *= 100.0  # validation and test rows change, training rows do not

    original, altered = Normalizer(), Normalizer()
    scaled = original.fit(rows[:n_train]).transform(rows)
    scaled_altered = altered.fit(changed[:n_train]).transform(changed)

    np.testing.assert_array_equal(original.low_, altered.low_)
    np.testing.assert_array_equal(original.high_, altered.high_)
    np.testing.assert_array_equal(scaled[:n_train], scaled_altered[:n_train])
    assert ((scaled_altered >= 0.0) & (scaled_altered <= 1.0)).all()


def test_normalizer_round_trips_through_json() -> None:
    train = np.random.default_rng(9).normal(size=(200, 8))
    rows = np.random.default_rng(10).normal(size=(20, 8)) * 3
    normalizer = Normalizer(2.0, 97.0).fit(train)

    restored = Normalizer.from_dict(json.loads(json.dumps(normalizer.to_dict())))

    assert (restored.lower_pct, restored.upper_pct) == (2.0, 97.0)
    np.testing.assert_array_equal(restored.transform(rows), normalizer.transform(rows))


@pytest.mark.parametrize(
    "misuse",
    [
        lambda: Normalizer(50.0, 10.0),
        lambda: Normalizer(-1.0, 99.0),
        lambda: Normalizer().transform(np.ones((2, 2))),
        lambda: Normalizer().to_dict(),
        lambda: Normalizer().fit(np.ones(5)),
        lambda: Normalizer().fit(np.ones((0, 3))),
        lambda: Normalizer().fit(np.ones((5, 3))).transform(np.ones((2, 4))),
    ],
)
def test_normalizer_refuses_misuse(misuse: Callable[[], object]) -> None:
    with pytest.raises(ParameterError):
        misuse()
