"""Technical indicators, the eight Q-dimensions, the look-ahead check and the training-only
``Normalizer`` (MODEL.md sections 2, 3 and 6).

Indicators reproduce TA-Lib's definitions and warm-up (lookback) without depending on it,
and run over a million bars in about twice TA-Lib's time (benchmarks/bench_features.py):

* Rolling windows (SMA, Bollinger bands, volatility) come from pairwise ("dyadic") window
  sums of width 1, 2, 4, ... 32; the Bollinger variance merges their M2 (sums of squared
  deviations) with Chan's update. A window's value depends only on the prices inside it:
  no running-sum drift over long series, no cancellation in the variance, and a flat
  window has a standard deviation of exactly 0.
* EMA and Wilder recursions are lower-bidiagonal linear systems, solved in place by
  LAPACK's banded triangular solver, seeded with the SMA of the first window as TA-Lib
  does.
* Everything runs block by block (``_BLOCK_ROWS``) so temporaries stay in cache; results
  do not depend on the block size and never on later rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.linalg.lapack import dtbtrs, ztbtrs

from ssots.errors import DataError, ParameterError

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

LONGEST_WINDOW = 50
"""Bars of history the slowest indicator (SMA50) needs before its first value."""

WARMUP_BARS = LONGEST_WINDOW - 1
"""Leading rows whose dimensions are NaN (49): from row ``WARMUP_BARS`` on, all 8 are
defined. The slowest input is SMA50 (first value at row 49); MACD needs 33 rows, the
others fewer."""

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
_WINDOW_INDICATORS = ("sma20", "sma50", "bb_upper", "bb_lower", "volatility20", "momentum5")
_SMA_FAST, _SMA_SLOW = 20, 50
_EMA_FAST, _EMA_SLOW, _MACD_SIGNAL = 12, 26, 9
_RSI_PERIOD = 14
_BB_PERIOD, _BB_DEVIATIONS = 20, 2.0
_VOLATILITY_PERIOD = 20
_MOMENTUM_PERIOD = 5
_BLOCK_ROWS = 1 << 16  # rows per block of the chunked loops: temporaries stay in cache


def compute_indicators(frame: pd.DataFrame) -> pd.DataFrame:
    """Compute the technical indicators of MODEL.md section 2 from a canonical OHLCV frame.

    Every value at bar t uses closes at or before t only. Values agree with TA-Lib (SMA,
    EMA, RSI, MACD, BBANDS, STDDEV of log returns, ROCR - 1) after each indicator's
    warm-up, and the warm-up rows are NaN exactly where TA-Lib's lookback leaves them NaN
    (leading NaN rows: sma50 49; macd, macd_signal, macd_hist 33; ema26 25; volatility20
    20; sma20 and bb_* 19; rsi14 14; ema12 11; momentum5 5). As in TA-Lib, MACD seeds
    its own inner EMAs (see ``_fast_ema_correction``), and rsi14 is 0 while there are
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
    window_rows = [rows[name] for name in _WINDOW_INDICATORS]
    _blockwise(_window_indicators, [close], _SMA_SLOW - 1, window_rows)
    _ema(close, _EMA_FAST, rows["ema12"])
    _ema(close, _EMA_SLOW, rows["ema26"])
    _macd(close, rows)
    _rsi(close, rows["rsi14"])
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

    def column(name: str) -> np.ndarray:
        return indicators[name].to_numpy(dtype=np.float64)

    rows = _allocate(_COMPUTED_DIMENSIONS, close.size)
    inputs = [close, *(column(name) for name in _DIMENSION_INPUTS)]
    _blockwise(_dimension_block, inputs, 0, [rows[name] for name in _COMPUTED_DIMENSIONS])
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
    close = np.ascontiguousarray(frame["close"].to_numpy(dtype=np.float64))
    if not np.all(close > 0.0):
        raise DataError(
            "close prices must be positive numbers without NaN; "
            "load the data with `ssots.data.load`, which drops such rows"
        )
    return close


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


# --- output buffers and dimension helpers --------------------------------------------


def _allocate(names: Sequence[str], length: int) -> dict[str, np.ndarray]:
    """One uninitialised float64 row per name, all in a single allocation.

    For long series one block is markedly faster than one array per column (fewer fresh
    pages to map); the rows become DataFrame columns without copying.
    """
    block = np.empty((len(names), length))
    return dict(zip(names, block, strict=True))


def _dimension_block(inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray]) -> None:
    """The computed dimensions (``_COMPUTED_DIMENSIONS``) of a block of rows."""
    close, sma20, sma50, ema12, ema26, rsi, histogram, upper, middle, lower = inputs
    sma_trend, ema_trend, rsi_scaled, histogram_scaled, width, position = outputs
    _ratio_minus_one(sma20, sma50, sma_trend)
    _ratio_minus_one(ema12, ema26, ema_trend)
    np.divide(rsi, 100.0, out=rsi_scaled)
    np.divide(histogram, close, out=histogram_scaled)
    np.subtract(upper, lower, out=width)
    _band_position(close, lower, width, position)
    width /= middle


def _ratio_minus_one(numerator: np.ndarray, denominator: np.ndarray, out: np.ndarray) -> None:
    np.divide(numerator, denominator, out=out)
    out -= 1.0


def _band_position(
    close: np.ndarray, lower: np.ndarray, width: np.ndarray, out: np.ndarray
) -> None:
    """(close - lower) / width, and 0.5 where the bands collapse (width 0: flat prices)."""
    np.subtract(close, lower, out=out)
    with np.errstate(divide="ignore", invalid="ignore"):
        out /= width
    out[width == 0.0] = 0.5


# --- rolling windows from dyadic sums -------------------------------------------------


def _dyadic_sums(values: np.ndarray, largest: int) -> list[np.ndarray]:
    """``sums[k][..., s]`` = sum of ``values[..., s : s + 2**k]``, for 2**k <= ``largest``.

    Each level adds two halves of the previous one (pairwise summation): a window's sum
    depends on that window's values only.
    """
    sums = [values]
    while 1 << len(sums) <= largest:
        level, half = sums[-1], 1 << (len(sums) - 1)
        sums.append(level[..., :-half] + level[..., half:])
    return sums


def _dyadic_m2(sums: list[np.ndarray], largest: int) -> list[np.ndarray | None]:
    """M2 (sum of squared deviations from the mean) of the same windows, up to ``largest``.

    Two halves of width w merge with Chan's update, M2 = M2a + M2b + (Sb - Sa)**2 / (2w),
    so no large sums of squares are subtracted: flat windows get exactly 0. Width 1 is
    None (identically 0).
    """
    m2s: list[np.ndarray | None] = [None]
    while 1 << len(m2s) <= largest:
        level, half = sums[len(m2s) - 1], 1 << (len(m2s) - 1)
        m2 = level[..., half:] - level[..., :-half]
        m2 *= m2
        m2 *= 0.5 / half
        previous = m2s[-1]
        if previous is not None:
            m2 += previous[..., :-half]
            m2 += previous[..., half:]
        m2s.append(m2)
    return m2s


def _parts(window: int) -> list[tuple[int, int]]:
    """Level and offset of each dyadic part of a window, widest first (20: 16 + 4)."""
    parts, offset = [], 0
    for level in reversed(range(window.bit_length())):
        if window >> level & 1:
            parts.append((level, offset))
            offset += 1 << level
    return parts


def _window_sum(sums: list[np.ndarray], window: int) -> np.ndarray:
    """Sum of every ``window``-wide window along the last axis, at its start."""
    count = max(sums[0].shape[-1] - window + 1, 0)
    pieces = [sums[level][..., offset : offset + count] for level, offset in _parts(window)]
    total = pieces[0].copy() if len(pieces) == 1 else pieces[0] + pieces[1]
    for piece in pieces[2:]:
        total += piece
    return total


def _window_m2(sums: list[np.ndarray], m2s: list[np.ndarray | None], window: int) -> np.ndarray:
    """M2 of every ``window``-wide window, merging its dyadic parts with Chan's update:
    M2 = M2a + M2b + (mean_b - mean_a)**2 * a * b / (a + b)."""
    count = max(sums[0].shape[-1] - window + 1, 0)
    (level, _), *others = _parts(window)
    width, total = 1 << level, sums[level][..., :count]
    m2 = m2s[level]
    m2 = np.zeros_like(total) if m2 is None else m2[..., :count]
    for level, offset in others:
        part_width, part = 1 << level, sums[level][..., offset : offset + count]
        merged = part - total * (part_width / width)  # part_width * (mean_b - mean_a)
        merged *= merged
        merged *= width / (part_width * (width + part_width))
        merged += m2
        part_m2 = m2s[level]
        if part_m2 is not None:
            merged += part_m2[..., offset : offset + count]
        m2, total, width = merged, total + part, width + part_width
    return m2


def _window_indicators(inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray]) -> None:
    """Fill the window indicators (``_WINDOW_INDICATORS``) for the last rows of a block.

    ``inputs`` holds the block of closes; each output covers its last ``len(output)``
    rows, and rows without a complete window get NaN.
    """
    (block,) = inputs
    sma20, sma50, upper, lower, volatility, momentum = outputs
    sums = _dyadic_sums(block, 32)
    middle = _destination(sma20, block.size - _SMA_FAST + 1)
    np.divide(_tail(_window_sum(sums, _SMA_FAST), middle.size), _SMA_FAST, out=middle)
    band = _tail(_window_m2(sums, _dyadic_m2(sums, 16), _BB_PERIOD), middle.size)
    band *= _BB_DEVIATIONS**2 / _BB_PERIOD
    np.sqrt(band, out=band)
    np.add(middle, band, out=_destination(upper, middle.size))
    np.subtract(middle, band, out=_destination(lower, middle.size))
    slow = _destination(sma50, block.size - _SMA_SLOW + 1)
    np.divide(_tail(_window_sum(sums, _SMA_SLOW), slow.size), _SMA_SLOW, out=slow)
    _volatility(block, volatility)
    changes = block[_MOMENTUM_PERIOD:] / block[:-_MOMENTUM_PERIOD]
    ratio = _destination(momentum, changes.size)
    np.subtract(_tail(changes, ratio.size), 1.0, out=ratio)


def _volatility(block: np.ndarray, out: np.ndarray) -> None:
    """Population std of the last 20 one-bar log returns, for the last rows of a block.

    Log returns are centred near 0, so the plain sums S1 and S2 are accurate here:
    var = S2/n - (S1/n)**2 loses little unless |mean| >> std.
    """
    returns = np.empty((2, max(block.size - 1, 0)))  # the returns and their squares
    np.log(block[1:] / block[:-1], out=returns[0])
    np.multiply(returns[0], returns[0], out=returns[1])
    sums = _window_sum(_dyadic_sums(returns, 16), _VOLATILITY_PERIOD)
    mean, variance = sums * (1.0 / _VOLATILITY_PERIOD)
    variance -= mean * mean
    variance[variance < 0.0] = 0.0  # rounding can leave -1e-20 where the returns are equal
    std = _destination(out, variance.size)
    np.sqrt(_tail(variance, std.size), out=std)


def _destination(out: np.ndarray, available: int) -> np.ndarray:
    """The last ``min(available, len(out))`` rows of ``out``; rows before them become NaN."""
    count = min(available, out.size)
    if count < out.size:
        out[: out.size - count] = np.nan
    return out[out.size - count :]


def _tail(values: np.ndarray, count: int) -> np.ndarray:
    return values[values.size - count :]


def _blockwise(
    function: Callable[[Sequence[np.ndarray], Sequence[np.ndarray]], None],
    inputs: Sequence[np.ndarray],
    history: int,
    outputs: Sequence[np.ndarray],
) -> None:
    """Run ``function(input_blocks, output_blocks)`` over cache-sized blocks of rows.

    Each output block covers rows ``[start, stop)``; the input blocks start ``history``
    rows earlier, enough for every window ending in the block. Values do not depend on
    the block size: a window's result is computed from that window's rows only.
    """
    for start in range(0, inputs[0].size, _BLOCK_ROWS):
        stop = min(start + _BLOCK_ROWS, inputs[0].size)
        function(
            [values[max(start - history, 0) : stop] for values in inputs],
            [output[start:stop] for output in outputs],
        )


# --- recursive indicators -----------------------------------------------------------


def _bidiagonal(decay: float, rows: int) -> np.ndarray:
    """LAPACK band storage of the lower-bidiagonal matrix with 1 on the diagonal and
    ``-decay`` below it: ``y[t] - decay * y[t-1] = rhs[t]`` is the smoothing recursion."""
    bands = np.empty((2, rows), order="F")
    bands[0] = 1.0  # the unit diagonal (not read with diag="U")
    bands[1] = -decay
    return bands


def _forward_substitute(
    bands: np.ndarray, rows: np.ndarray, solver: Callable[..., Any] = dtbtrs
) -> None:
    """In place, column by column: ``rows[t] += decay * rows[t-1]`` for t >= 1.

    LAPACK's banded triangular solver does this loop at C speed: ``dtbtrs``, or
    ``ztbtrs`` with complex bands for two real recursions with the same decay packed as
    the real and imaginary parts of complex rows. ``rows[0]`` is the value carried in
    from the previous block and stays as it is, so the first new value is computed
    exactly like every later one and results do not depend on where blocks start.
    """
    rhs = rows[:, None] if rows.ndim == 1 else rows
    solved, _ = solver(bands[:, : rhs.shape[0]], rhs, uplo="L", diag="U", overwrite_b=1)
    if not np.may_share_memory(solved, rhs):  # LAPACK worked on a copy
        rhs[...] = solved


def _seed(values: np.ndarray, period: int, start: int, out: np.ndarray) -> bool:
    """TA-Lib's seed: NaN before row ``start``, there the mean of the ``period`` values
    ending at it. Returns False when ``values`` has no row ``start``."""
    out[: min(start, values.size)] = np.nan
    if values.size <= start:
        return False
    out[start] = values[start - period + 1 : start + 1].mean()
    return True


def _smooth(
    values: np.ndarray, alpha: float, bands: np.ndarray, out: np.ndarray, first: int, stop: int
) -> None:
    """Rows ``[first, stop)`` of ``out[t] = (1 - alpha) * out[t-1] + alpha * values[t]``,
    continuing from the known ``out[first - 1]``."""
    np.multiply(values[first:stop], alpha, out=out[first:stop])
    _forward_substitute(bands, out[first - 1 : stop])


def _ema(close: np.ndarray, period: int, out: np.ndarray) -> None:
    """TA-Lib EMA: alpha = 2 / (period + 1), seeded with the SMA of the first closes."""
    alpha = 2.0 / (period + 1)
    if not _seed(close, period, period - 1, out):
        return
    bands = _bidiagonal(1.0 - alpha, _BLOCK_ROWS + 1)
    for first in range(period, close.size, _BLOCK_ROWS):
        _smooth(close, alpha, bands, out, first, min(first + _BLOCK_ROWS, close.size))


def _macd(close: np.ndarray, rows: dict[str, np.ndarray]) -> None:
    """TA-Lib MACD(12, 26, 9) into rows macd, macd_signal, macd_hist (NaN for 33 rows).

    The signal is the EMA9 of the line, seeded with the SMA of the line's first 9 values
    (rows 25..33; row 33 is TA-Lib's first output). After that, each block of the line
    (``_macd_line``) is followed by the same block of signal and histogram.
    """
    line, signal, histogram = rows["macd"], rows["macd_signal"], rows["macd_hist"]
    first_output = _EMA_SLOW + _MACD_SIGNAL - 2
    correction = _fast_ema_correction(close, rows["ema12"])
    head = min(first_output + 1, close.size)
    _macd_line(rows, correction, 0, head)
    _seed(line, _MACD_SIGNAL, first_output, signal)
    line[: min(first_output, close.size)] = np.nan
    np.subtract(line[:head], signal[:head], out=histogram[:head])
    alpha = 2.0 / (_MACD_SIGNAL + 1)
    bands = _bidiagonal(1.0 - alpha, _BLOCK_ROWS + 1)
    for first in range(head, close.size, _BLOCK_ROWS):
        stop = min(first + _BLOCK_ROWS, close.size)
        _macd_line(rows, correction, first, stop)
        _smooth(line, alpha, bands, signal, first, stop)
        np.subtract(line[first:stop], signal[first:stop], out=histogram[first:stop])


def _fast_ema_correction(close: np.ndarray, ema_fast: np.ndarray) -> np.ndarray:
    """What TA-Lib's MACD adds to EMA12 from row 25 on (first value: row 25).

    TA-Lib starts both inner EMAs at row 25 (the slow EMA's first value): the slow one is
    the ordinary EMA26, but the fast one is re-seeded there with the SMA of the 12 closes
    ending at row 25 instead of the first 12. Both fast EMAs follow the same linear
    recursion, so they differ by (seed gap) * (1 - alpha)^(t - 25), kept here until it
    underflows.
    """
    start = _EMA_SLOW - 1
    if close.size <= start:
        return np.empty(0)
    decay = 1.0 - 2.0 / (_EMA_FAST + 1)
    gap = close[start - _EMA_FAST + 1 : start + 1].mean() - ema_fast[start]
    return gap * decay ** np.arange(min(close.size - start, _underflow_steps(decay)))


def _macd_line(rows: dict[str, np.ndarray], correction: np.ndarray, first: int, stop: int) -> None:
    """Rows ``[first, stop)`` of the MACD line: EMA12 - EMA26 plus TA-Lib's correction."""
    line = rows["macd"]
    np.subtract(rows["ema12"][first:stop], rows["ema26"][first:stop], out=line[first:stop])
    start = _EMA_SLOW - 1
    low, high = max(first, start), min(stop, start + correction.size)
    if low < high:
        line[low:high] += correction[low - start : high - start]


def _underflow_steps(decay: float) -> int:
    """Number of powers ``decay**k`` (k = 0, 1, ...) above the smallest normal float."""
    return int(np.log(np.finfo(np.float64).tiny) / np.log(decay)) + 1


def _rsi(close: np.ndarray, out: np.ndarray) -> None:
    """TA-Lib RSI(14): Wilder-smoothed gains and losses; 0 when both averages are 0.

    The averages start as the means of the first 14 gains and losses (row 14), then
    ``avg = (13 * avg + new) / 14``. Only their ratio matters, so both are tracked
    multiplied by 14 (sums seed them, and new moves enter unscaled). Gains and losses
    are the real and imaginary parts of one complex recursion (one LAPACK call per block
    for both), carried from block to block.
    """
    period = _RSI_PERIOD
    out[: min(period, close.size)] = np.nan
    if close.size <= period:
        return
    sums = np.empty((min(close.size - period, _BLOCK_ROWS + 1), 2))
    first_moves = np.empty((period, 2))
    _gains_losses(close[: period + 1], first_moves)
    sums[0] = first_moves.sum(axis=0)
    _rsi_from_averages(sums[:1], out[period : period + 1])
    bands = _bidiagonal(1.0 - 1.0 / period, sums.shape[0]).astype(np.complex128, order="F")
    for start in range(period + 1, close.size, _BLOCK_ROWS):
        stop = min(start + _BLOCK_ROWS, close.size)
        rows = sums[: stop - start + 1]
        _gains_losses(close[start - 1 : stop], rows[1:])
        _forward_substitute(bands, rows.view(np.complex128), ztbtrs)
        _rsi_from_averages(rows[1:], out[start:stop])
        sums[0] = rows[-1]


def _gains_losses(close: np.ndarray, out: np.ndarray) -> None:
    """Gains (column 0) and losses (column 1) of consecutive closes, both >= 0."""
    change = np.diff(close)
    gain, loss = out[:, 0], out[:, 1]
    np.maximum(change, 0.0, out=gain)
    np.subtract(gain, change, out=loss)


def _rsi_from_averages(averages: np.ndarray, out: np.ndarray) -> None:
    """100 * gain / (gain + loss) from (equally scaled) average gains and losses in
    columns 0 and 1; 0 where both are 0 (TA-Lib's convention)."""
    gain, loss = averages[:, 0], averages[:, 1]
    total = gain + loss
    with np.errstate(invalid="ignore"):
        np.divide(gain, total, out=out)
    out[total == 0.0] = 0.0
    out *= 100.0
