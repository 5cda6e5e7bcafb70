"""Technical indicators, the eight Q-dimensions, the look-ahead check and the training-only
``Normalizer`` (MODEL.md sections 2, 3 and 6).

Indicators reproduce TA-Lib's definitions and warm-up (lookback) without depending on it.
Each indicator family is one plain loop in ``ssots._indicators``, compiled by numba and
cached on disk (benchmarks/bench_features.py compares the time with TA-Lib's):

* SMA, Bollinger bands and volatility come from running window sums made exact with
  compensated (Neumaier) summation: no drift over long series, and a window of equal
  values has a standard deviation of exactly 0.
* EMA, MACD and RSI follow TA-Lib's recursions and seeds (SMA of the first window; MACD
  seeds its inner fast EMA where TA-Lib does).

The dimensions are one more such loop. ``ssots._indicators`` (and numba with it) is
imported on the first call of ``compute_indicators`` or ``dimensions``, so importing this
module stays light.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from ssots.errors import DataError, ParameterError
from ssots.spec import WARMUP_BARS as WARMUP_BARS  # leading NaN rows (49), beside min_rows

DIMENSIONS: tuple[str, ...] = (
    "sma_trend",
    "ema_trend",
    "rsi",
    "macd_hist",
    "bb_width",
    "volatility",
    "momentum",
    "bb_position",
)
"""The eight Q-dimension keys, in model order."""

INDICATORS: tuple[str, ...] = (
    "sma20",
    "sma50",
    "ema12",
    "ema26",
    "rsi14",
    "macd",
    "macd_signal",
    "macd_hist",
    "bb_upper",
    "bb_middle",
    "bb_lower",
    "volatility20",
    "momentum5",
)
"""The columns of ``compute_indicators``, in order."""



_DIMENSION_INPUTS = (
    "sma20",
    "sma50",
    "ema12",
    "ema26",
    "rsi14",
    "macd_hist",
    "bb_upper",
    "bb_middle",
    "bb_lower",
)
_COMPUTED_DIMENSIONS = ("sma_trend", "ema_trend", "rsi", "macd_hist", "bb_width", "bb_position")
_SMA_FAST, _SMA_SLOW = 20, 50
_EMA_FAST, _EMA_SLOW, _MACD_SIGNAL = 12, 26, 9
_RSI_PERIOD = 14
_BB_PERIOD, _BB_DEVIATIONS = 20, 2.0
_VOLATILITY_PERIOD = 20
_MOMENTUM_PERIOD = 5


def compute_indicators(frame: pd.DataFrame) -> pd.DataFrame:
    """Compute the technical indicators of MODEL.md section 2 from a canonical OHLCV frame.

    Every value at bar t uses closes at or before t only. Values agree with TA-Lib (SMA,
    EMA, RSI, MACD, BBANDS, STDDEV of log returns, ROCR - 1) after each indicator's
    warm-up, and the warm-up rows are NaN exactly where TA-Lib's lookback leaves them NaN
    (leading NaN rows: sma50 49; macd, macd_signal, macd_hist 33; ema26 25; volatility20
    20; sma20 and bb_* 19; rsi14 14; ema12 11; momentum5 5). As in TA-Lib, MACD seeds
    its own inner EMAs (see ``ssots._indicators.macd``), and rsi14 is 0 while there are
    neither gains nor losses (flat prices).

    Args:
        frame: canonical OHLCV frame; only the ``close`` column is read.

    Returns:
        float64 frame on ``frame.index`` with the columns ``INDICATORS`` in order.

    Raises:
        DataError: no ``close`` column, or a close price that is NaN or not positive.
    """
    close = _close_prices(frame)
    rows = _allocate([name for name in INDICATORS if name != "bb_middle"], close.size)
    _fill_indicators(close, rows)
    table = pd.DataFrame(rows, index=frame.index, copy=False)
    # the same values as SMA20: shared until either column is written (copy on write)
    table.insert(INDICATORS.index("bb_middle"), "bb_middle", table["sma20"])
    return table


def dimensions(frame: pd.DataFrame, indicators: pd.DataFrame | None = None) -> pd.DataFrame:
    """The eight raw Q-dimensions of MODEL.md section 3, one row per bar.

    Conventions for flat prices (long runs of equal closes occur in real 1-minute data):
    when the Bollinger bands collapse (upper == lower) ``bb_position`` is 0.5, the middle
    of the band; RSI follows TA-Lib, which reports 0 when the smoothed gains and losses
    are both 0, so ``rsi`` is then 0. After ``WARMUP_BARS`` rows no dimension is NaN or
    infinite.

    Args:
        frame: canonical OHLCV frame; ``close`` is read.
        indicators: the output of ``compute_indicators(frame)`` if already computed;
            computed here when omitted.

    Returns:
        float64 frame on ``frame.index`` with the columns ``DIMENSIONS`` in order; the
        first ``WARMUP_BARS`` rows hold NaN.

    Raises:
        DataError: as ``compute_indicators``.
        ParameterError: ``indicators`` lacks a column or is not on ``frame.index``.
    """
    close = _close_prices(frame)
    if indicators is None:
        indicators = compute_indicators(frame)
    else:
        _check_indicators(frame, indicators)

    block = np.empty((len(_COMPUTED_DIMENSIONS), close.size))
    inputs = [_loop_input(indicators[name]) for name in _DIMENSION_INPUTS]
    _loops().dimensions(close, *inputs, block)
    rows = dict(zip(_COMPUTED_DIMENSIONS, block, strict=True))
    table = pd.DataFrame(rows, index=frame.index, copy=False)
    # volatility and momentum are indicator columns as they are: shared, copy on write
    for name, source in (("volatility", "volatility20"), ("momentum", "momentum5")):
        shared = indicators[source].astype(np.float64)
        table.insert(DIMENSIONS.index(name), name, shared)
    return table


def check_no_lookahead(
    compute: Callable[[pd.DataFrame], pd.DataFrame],
    frame: pd.DataFrame,
    cut_points: Sequence[int],
    *,
    rtol: float = 1e-9,
    atol: float = 1e-12,
) -> list[str]:
    """Find output columns of ``compute`` that use bars after the one they describe.

    For each cut t, ``compute`` runs on ``frame.iloc[:t + 1]`` and its last row must equal
    row t of ``compute(frame)`` (NaN matches NaN; otherwise within ``rtol``/``atol``).
    A causal feature passes at every cut; one that peeks ahead (e.g. ``close.shift(-1)``)
    differs wherever the future bar it read is cut off (MODEL.md section 6).

    Args:
        compute: maps an OHLCV frame to a frame of features on the same index.
        frame: the full OHLCV frame.
        cut_points: row positions t, 0 <= t < len(frame).
        rtol: relative tolerance of the comparison.
        atol: absolute tolerance of the comparison.

    Returns:
        The violating column names in ``compute``'s column order; empty when clean.

    Raises:
        ParameterError: no cut points, a cut point outside the frame, or ``compute``
            returned rows other than its input's or columns that change with the length.
    """
    cuts = _validated_cuts(cut_points, len(frame))
    full = _checked_output(compute(frame), frame, None)
    violating = np.zeros(full.shape[1], dtype=bool)
    for cut in cuts:
        part = frame.iloc[: cut + 1]
        truncated = _checked_output(compute(part), part, full)
        violating |= _row_differs(truncated.iloc[cut], full.iloc[cut], rtol, atol)
    return [str(name) for name, bad in zip(full.columns, violating, strict=True) if bad]


class Normalizer:
    """Per-column scaling to [0, 1], fitted on training rows only.

    ``fit`` records each column's 1st and 99th percentile; ``transform`` clips to those
    bounds and min-max scales, so rows outside the training range land on 0 or 1. A
    column that is constant in training maps to 0.5.

    Args:
        lower_pct: lower clipping percentile (default 1).
        upper_pct: upper clipping percentile (default 99).
    """

    def __init__(self, lower_pct: float = 1.0, upper_pct: float = 99.0) -> None:
        if not 0.0 <= lower_pct < upper_pct <= 100.0:
            raise ParameterError(
                "`lower_pct` and `upper_pct` must satisfy 0 <= lower < upper <= 100, "
                f"got {lower_pct} and {upper_pct}"
            )
        self.lower_pct = lower_pct
        self.upper_pct = upper_pct
        self.low_: np.ndarray | None = None
        self.high_: np.ndarray | None = None

    def fit(self, train_rows: np.ndarray | pd.DataFrame) -> Normalizer:
        """Learn the clipping bounds from training rows (2-D, rows x dimensions)."""
        values = _as_2d(train_rows)
        if values.shape[0] == 0:
            raise ParameterError("`Normalizer.fit` needs at least one training row")
        self.low_ = np.nanpercentile(values, self.lower_pct, axis=0)
        self.high_ = np.nanpercentile(values, self.upper_pct, axis=0)
        return self

    def transform(self, rows: np.ndarray | pd.DataFrame) -> np.ndarray:
        """Scale rows with the fitted bounds; returns float64 values in [0, 1]."""
        if self.low_ is None or self.high_ is None:
            raise ParameterError("this Normalizer is not fitted yet: call `fit` first")
        values = _as_2d(rows)
        if values.shape[1] != self.low_.shape[0]:
            raise ParameterError(f"expected {self.low_.shape[0]} columns, got {values.shape[1]}")
        span = self.high_ - self.low_
        constant = span <= 0
        safe_span = np.where(constant, 1.0, span)
        scaled = (np.clip(values, self.low_, self.high_) - self.low_) / safe_span
        scaled[:, constant] = 0.5
        return scaled

    def fit_transform(self, train_rows: np.ndarray | pd.DataFrame) -> np.ndarray:
        """``fit`` then ``transform`` the same rows."""
        return self.fit(train_rows).transform(train_rows)

    def to_dict(self) -> dict[str, Any]:
        """The fitted state as plain JSON-ready values."""
        if self.low_ is None or self.high_ is None:
            raise ParameterError("this Normalizer is not fitted yet: call `fit` first")
        return {
            "lower_pct": self.lower_pct,
            "upper_pct": self.upper_pct,
            "low": self.low_.tolist(),
            "high": self.high_.tolist(),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Normalizer:
        """Rebuild a fitted Normalizer from ``to_dict`` output."""
        normalizer = cls(state["lower_pct"], state["upper_pct"])
        normalizer.low_ = np.asarray(state["low"], dtype=np.float64)
        normalizer.high_ = np.asarray(state["high"], dtype=np.float64)
        return normalizer


def _as_2d(rows: np.ndarray | pd.DataFrame) -> np.ndarray:
    values = np.asarray(rows, dtype=np.float64)
    if values.ndim != 2:
        raise ParameterError(f"expected a 2-D array (rows x dimensions), got {values.ndim}-D")
    return values


# --- input checks -------------------------------------------------------------------


def _close_prices(frame: pd.DataFrame) -> np.ndarray:
    """The close column as float64, refusing values no indicator can use."""
    if "close" not in frame.columns:
        raise DataError("the OHLCV frame has no `close` column")
    close = _loop_input(frame["close"])
    if not np.all(close > 0.0):
        raise DataError(
            "close prices must be positive numbers without NaN; "
            "load the data with `ssots.data.load`, which drops such rows"
        )
    return close


def _loop_input(column: pd.Series) -> np.ndarray:
    """A column as a C-contiguous, read-only float64 array (copied only when needed).

    Whatever the frame's layout, the compiled loops then always see the same array type,
    so each is compiled (and cached) once rather than once per kind of input.
    """
    values = np.ascontiguousarray(column.to_numpy(dtype=np.float64)).view()
    values.flags.writeable = False
    return values


def _check_indicators(frame: pd.DataFrame, indicators: pd.DataFrame) -> None:
    missing = [name for name in INDICATORS if name not in indicators.columns]
    if missing:
        raise ParameterError(f"`indicators` lacks the columns {missing}")
    if not indicators.index.equals(frame.index):
        raise ParameterError("`indicators` must be on the same index as `frame`")


def _validated_cuts(cut_points: Sequence[int], n_rows: int) -> list[int]:
    cuts = [int(cut) for cut in cut_points]
    if not cuts:
        raise ParameterError("`cut_points` is empty: give at least one row position")
    outside = [cut for cut in cuts if not 0 <= cut < n_rows]
    if outside:
        raise ParameterError(f"cut points {outside} are outside the frame's {n_rows} rows")
    return cuts


def _checked_output(
    result: pd.DataFrame, source: pd.DataFrame, full: pd.DataFrame | None
) -> pd.DataFrame:
    """``result`` if it has one row per row of ``source`` (and ``full``'s columns)."""
    if len(result) != len(source):
        raise ParameterError(
            f"`compute` returned {len(result)} rows for {len(source)}: it must keep every row"
        )
    if full is not None and not result.columns.equals(full.columns):
        raise ParameterError("`compute` returned other columns for a shorter frame")
    return result


def _row_differs(row: pd.Series, reference: pd.Series, rtol: float, atol: float) -> np.ndarray:
    values = row.to_numpy(dtype=np.float64)
    expected = reference.to_numpy(dtype=np.float64)
    return ~np.isclose(values, expected, rtol=rtol, atol=atol, equal_nan=True)


# --- output buffers and the compiled loops --------------------------------------------


def _allocate(names: Sequence[str], length: int) -> dict[str, np.ndarray]:
    """One uninitialised float64 row per name, all in a single allocation.

    For long series one block is markedly faster than one array per column (fewer fresh
    pages to map); the rows become DataFrame columns without copying.
    """
    block = np.empty((len(names), length))
    return dict(zip(names, block, strict=True))


def _loops() -> ModuleType:
    """The compiled indicator loops; numba loads on first use, not with this module."""
    from ssots import _indicators

    return _indicators


def _volatility(close: np.ndarray, out: np.ndarray) -> None:
    """Population std of the last 20 one-bar log returns (TA-Lib STDDEV of them).

    NumPy's vectorised log computes the returns into ``out`` (the first return is at row
    1), then the compiled rolling loop replaces them with their std in place.
    """
    out[:1] = np.nan
    returns = out[1:]
    np.divide(close[1:], close[:-1], out=returns)
    np.log(returns, out=returns)
    _loops().rolling_mean_std(returns, _VOLATILITY_PERIOD, np.empty(0), returns)


def _fill_indicators(close: np.ndarray, rows: dict[str, np.ndarray]) -> None:
    """Run the compiled loops of ``ssots._indicators`` into the indicator rows."""
    loops = _loops()

    loops.bollinger(
        close, _BB_PERIOD, _BB_DEVIATIONS, rows["sma20"], rows["bb_upper"], rows["bb_lower"]
    )
    loops.rolling_mean(close, _SMA_SLOW, rows["sma50"])
    loops.ema(close, _EMA_FAST, 0, rows["ema12"])
    loops.ema(close, _EMA_SLOW, 0, rows["ema26"])
    loops.macd(
        close,
        rows["ema26"],
        _EMA_FAST,
        _EMA_SLOW,
        _MACD_SIGNAL,
        rows["macd"],
        rows["macd_signal"],
        rows["macd_hist"],
    )
    loops.rsi(close, _RSI_PERIOD, rows["rsi14"])
    _volatility(close, rows["volatility20"])
    loops.momentum(close, _MOMENTUM_PERIOD, rows["momentum5"])
