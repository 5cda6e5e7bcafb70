"""The indicator loops behind ``ssots.features``: one plain loop per indicator family,
compiled by numba.

Each function fills preallocated float64 output arrays and writes NaN over the rows
before its first value, at exactly the rows TA-Lib's lookback leaves empty. Only values
at or before bar t enter the value at bar t. The arithmetic follows TA-Lib's own loops
(ta-lib.org, ``ta_EMA.c``, ``ta_RSI.c``, ``ta_MACD.c``) except where noted:

* rolling sums (SMA, Bollinger bands, volatility) are running sums made exact with
  Neumaier's compensated summation (``_slide``), so a window's value does not drift over
  millions of bars; TA-Lib keeps plain running sums. A window of equal values has exactly that value
  as its mean and a standard deviation of exactly 0.
* means that seed a recursion (EMA, MACD) are the first value plus the mean offset from
  it (``_mean``), exact for flat prices, where TA-Lib divides a plain sum.
* RSI's Wilder averages are kept multiplied by the period (see ``rsi``), which removes a
  division from each step and leaves the ratio RSI is made of unchanged.

``@njit(cache=True)`` keeps the machine code on disk: numba writes it to the
``__pycache__`` folder beside this file (or under ``NUMBA_CACHE_DIR`` when set, or the
user's cache folder when this one is read-only), so only the first call after an install
or an edit of this file compiles. ``ssots.features`` imports this module (and numba) only
when indicators are computed.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _two_sum(a: float, b: float) -> tuple[float, float]:
    """``a + b`` rounded, and its rounding error exactly (Knuth's TwoSum, no branch)."""
    total = a + b
    b_part = total - a
    return total, (a - (total - b_part)) + (b - b_part)


@njit(cache=True)
def _slide(
    total: float, compensation: float, entering: float, leaving: float
) -> tuple[float, float]:
    """One step of a compensated running window sum (Neumaier's scheme): add ``entering``
    and drop ``leaving``. ``total + compensation`` is the window's sum; the rounding
    errors of the change and of the running total are collected in ``compensation``."""
    change, change_error = _two_sum(entering, -leaving)
    total, total_error = _two_sum(total, change)
    return total, compensation + (change_error + total_error)


@njit(cache=True)
def _mean(values: np.ndarray, start: int, stop: int) -> float:
    """Mean of ``values[start:stop]`` as the first value plus the mean offset from it:
    exactly that value when all are equal (flat prices), and no large sums."""
    first = values[start]
    offsets = 0.0
    for t in range(start + 1, stop):
        offsets += values[t] - first
    return first + offsets / (stop - start)


@njit(cache=True)
def rolling_mean(values: np.ndarray, period: int, out: np.ndarray) -> None:
    """TA-Lib SMA: ``out[t]`` = mean of ``values[t - period + 1 : t + 1]``, from a
    compensated running sum; a window of equal values (``run`` counts the equal values
    ending at t) has exactly that value as its mean."""
    n = values.size
    out[: min(period - 1, n)] = np.nan
    total, compensation, run = 0.0, 0.0, 0
    scale = 1.0 / period
    for t in range(n):
        value = values[t]
        leaving = values[t - period] if t >= period else 0.0
        total, compensation = _slide(total, compensation, value, leaving)
        run = run + 1 if t > 0 and value == values[t - 1] else 1
        if t >= period - 1:
            out[t] = value if run >= period else (total + compensation) * scale


@njit(cache=True)
def rolling_mean_std(values: np.ndarray, period: int, mean: np.ndarray, std: np.ndarray) -> None:
    """Mean and population standard deviation of the last ``period`` values (TA-Lib SMA
    and STDDEV with a deviation multiplier of 1); ``mean`` may be empty (not wanted).

    The variance is E[x^2] - E[x]^2 from compensated running sums of the values and of
    their squares, as TA-Lib computes it from plain ones, clamped at 0; a window of equal
    values (``run`` counts the equal values ending at t) has exactly that value as its
    mean and a standard deviation of exactly 0. ``std`` may be ``values`` itself: the
    window's values are kept in ``window``, a ring of ``period`` slots (zeros at first,
    so nothing leaves the sums before the window is full).
    """
    n = values.size
    keep_mean = mean.size > 0
    if keep_mean:
        mean[: min(period - 1, n)] = np.nan
    window = np.zeros(period)
    scale = 1.0 / period  # a multiplication a step: the divider is left to the sqrt
    total, total_c, squares, squares_c = 0.0, 0.0, 0.0, 0.0
    run, previous, slot = 0, np.nan, 0
    for t in range(n):
        value = values[t]
        leaving = window[slot]  # the value ``period`` rows back
        window[slot] = value
        slot = slot + 1 if slot + 1 < period else 0
        total, total_c = _slide(total, total_c, value, leaving)
        squares, squares_c = _slide(squares, squares_c, value * value, leaving * leaving)
        run = run + 1 if value == previous else 1
        previous = value
        if t < period - 1:
            std[t] = np.nan
        elif run >= period:
            std[t] = 0.0
            if keep_mean:
                mean[t] = value
        else:
            average = (total + total_c) * scale
            variance = (squares + squares_c) * scale - average * average
            std[t] = np.sqrt(max(variance, 0.0))
            if keep_mean:
                mean[t] = average


@njit(cache=True)
def ema(values: np.ndarray, period: int, first: int, out: np.ndarray) -> None:
    """TA-Lib EMA with alpha = 2 / (period + 1), seeded with the mean of the ``period``
    values from row ``first`` on: the first value is at row ``first + period - 1``, and
    ``out[t] = (values[t] - out[t-1]) * alpha + out[t-1]`` after it.

    Plain ``ema(close, n, 0, out)`` is TA-Lib's EMA(n); MACD seeds its inner EMAs later.
    """
    n = values.size
    seed_row = first + period - 1
    out[: min(seed_row, n)] = np.nan
    if seed_row >= n:
        return
    alpha = 2.0 / (period + 1)
    average = _mean(values, first, seed_row + 1)
    out[seed_row] = average
    for t in range(seed_row + 1, n):
        average = (values[t] - average) * alpha + average
        out[t] = average


@njit(cache=True)
def macd(
    close: np.ndarray,
    ema_slow: np.ndarray,
    fast: int,
    slow: int,
    signal_period: int,
    line: np.ndarray,
    signal: np.ndarray,
    histogram: np.ndarray,
) -> None:
    """TA-Lib MACD(fast, slow, signal_period); ``ema_slow`` is ``ema(close, slow, 0)``.

    TA-Lib starts both inner EMAs at the slow EMA's first row (``slow - 1``): the slow one
    is the ordinary EMA, but the fast one is seeded there with the mean of the ``fast``
    closes ending at that row, not the first ``fast`` closes. The signal line is the EMA
    of the MACD line seeded with the mean of its first ``signal_period`` values, and
    TA-Lib reports all three outputs from the signal's first row on.
    """
    n = close.size
    start = slow - 1  # first row of both inner EMAs and of the MACD line
    first_output = start + signal_period - 1
    line[: min(first_output, n)] = np.nan
    signal[: min(first_output, n)] = np.nan
    histogram[: min(first_output, n)] = np.nan
    if first_output >= n:
        return
    alpha_fast = 2.0 / (fast + 1)
    alpha_signal = 2.0 / (signal_period + 1)
    fast_average = _mean(close, start - fast + 1, start + 1)
    line[start] = fast_average - ema_slow[start]
    for t in range(start + 1, first_output + 1):  # the line's first values: the signal's seed
        fast_average = (close[t] - fast_average) * alpha_fast + fast_average
        line[t] = fast_average - ema_slow[t]
    signal_average = _mean(line, start, first_output + 1)
    line[start:first_output] = np.nan  # TA-Lib reports the line from the signal's first row
    signal[first_output] = signal_average
    histogram[first_output] = line[first_output] - signal_average
    for t in range(first_output + 1, n):
        fast_average = (close[t] - fast_average) * alpha_fast + fast_average
        current = fast_average - ema_slow[t]
        signal_average = (current - signal_average) * alpha_signal + signal_average
        line[t], signal[t] = current, signal_average
        histogram[t] = current - signal_average


@njit(cache=True)
def rsi(close: np.ndarray, period: int, out: np.ndarray) -> None:
    """TA-Lib RSI(period) with Wilder smoothing; 0 while there are neither gains nor losses.

    The averages start as the means of the first ``period`` gains and losses (row
    ``period``), then ``average = (average * (period - 1) + move) / period``. RSI is
    100 * gains / (gains + losses), so the loop keeps both averages multiplied by
    ``period``: ``scaled = scaled * (period - 1) / period + move``, one multiplication and
    one addition a step.
    """
    n = close.size
    out[: min(period, n)] = np.nan
    if period >= n:
        return
    gains, losses = 0.0, 0.0
    for t in range(1, period + 1):
        change = close[t] - close[t - 1]
        gain = max(change, 0.0)
        gains += gain
        losses += gain - change
    out[period] = _rsi_value(gains, losses)
    decay = (period - 1) / period
    for t in range(period + 1, n):
        change = close[t] - close[t - 1]
        gain = max(change, 0.0)  # gain and loss without a branch: one of them is 0
        gains = gains * decay + gain
        losses = losses * decay + (gain - change)
        out[t] = _rsi_value(gains, losses)


@njit(cache=True)
def _rsi_value(gains: float, losses: float) -> float:
    total = gains + losses
    return 0.0 if total == 0.0 else 100.0 * (gains / total)


@njit(cache=True)
def momentum(close: np.ndarray, period: int, out: np.ndarray) -> None:
    """TA-Lib ROCR(period) - 1: ``close[t] / close[t - period] - 1``."""
    n = close.size
    out[: min(period, n)] = np.nan
    for t in range(period, n):
        out[t] = close[t] / close[t - period] - 1.0


@njit(cache=True)
def bollinger(
    close: np.ndarray,
    period: int,
    deviations: float,
    middle: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
) -> None:
    """TA-Lib BBANDS(period, deviations, deviations, SMA): the mean of the last ``period``
    closes plus and minus ``deviations`` population standard deviations of them."""
    rolling_mean_std(close, period, middle, upper)  # upper holds the std until here
    for t in range(close.size):
        width = deviations * upper[t]
        upper[t] = middle[t] + width
        lower[t] = middle[t] - width


@njit(cache=True)
def dimensions(
    close: np.ndarray,
    sma_fast: np.ndarray,
    sma_slow: np.ndarray,
    ema_fast: np.ndarray,
    ema_slow: np.ndarray,
    rsi: np.ndarray,
    histogram: np.ndarray,
    upper: np.ndarray,
    middle: np.ndarray,
    lower: np.ndarray,
    out: np.ndarray,
) -> None:
    """Q-dimensions 1-5 and 8 of MODEL.md section 3 into the rows of ``out``: sma_trend,
    ema_trend, rsi, macd_hist, bb_width, bb_position, in this order (volatility and
    momentum are indicator columns as they are).

    ``bb_position`` is 0.5 where the bands collapse (upper == lower: flat prices).
    """
    for t in range(close.size):
        width = upper[t] - lower[t]
        out[0, t] = sma_fast[t] / sma_slow[t] - 1.0
        out[1, t] = ema_fast[t] / ema_slow[t] - 1.0
        out[2, t] = rsi[t] / 100.0
        out[3, t] = histogram[t] / close[t]
        out[4, t] = width / middle[t]
        out[5, t] = 0.5 if width == 0.0 else (close[t] - lower[t]) / width
