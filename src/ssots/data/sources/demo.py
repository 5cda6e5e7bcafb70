"""Deterministic synthetic OHLCV: regime-switching geometric Brownian motion.

A Markov chain over three regimes (bull trend, bear trend, range) drives the drift; in a
range regime the log price is pulled back, Ornstein-Uhlenbeck style, towards an anchor
that itself follows the price slowly. Volatility clusters through an EGARCH(1,1)
recursion, whose log-variance is linear in the shocks and so runs through one first-order
linear filter (``_ar1_filter``, a log-depth NumPy scan) instead of a Python loop. Trends
reward momentum rules and
ranges reward mean-reversion rules, so the indicators carry some real information about
the next bars' returns. All rates are set in calendar time and scaled to the bar spacing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ssots.errors import ParameterError

DAY = pd.Timedelta(days=1)
DAILY_VOL = 0.035
"""Target daily volatility of log returns (crypto-like)."""
START_PRICE = 30_000.0
DAILY_VOLUME = 30_000.0
"""Average traded volume per day, in units of the base asset."""
MAX_BARS = 20_000_000

_FREQ = re.compile(r"^\s*(\d+)\s*(m|min|h|d)\s*$", re.IGNORECASE)
_UNIT = {"m": "min", "min": "min", "h": "h", "d": "D"}

_VOL_HALF_LIFE_DAYS = 7.0
"""Half-life of a volatility shock."""
_LOG_VOL_SD = 0.3
"""Stationary standard deviation of log volatility."""
_LEVERAGE = -0.5
"""EGARCH asymmetry relative to the size term: falls raise volatility more than rises."""


@dataclass(frozen=True)
class _Regime:
    drift: float  # log return per day
    vol_scale: float
    mean_days: float
    pull_half_life_days: float | None = None  # range regimes only


_REGIMES = (
    _Regime(drift=0.006, vol_scale=0.9, mean_days=90.0),  # bull trend
    _Regime(drift=-0.006, vol_scale=1.2, mean_days=60.0),  # bear trend
    _Regime(drift=0.0, vol_scale=0.8, mean_days=30.0, pull_half_life_days=3.0),  # range
)
_TRANSITIONS = np.array([[0.0, 0.4, 0.6], [0.5, 0.0, 0.5], [0.5, 0.5, 0.0]])
_ANCHOR_HALF_LIFE_DAYS = 30.0


def demo(
    days: int = 1095, seed: int = 42, freq: str = "1d", start: str = "2021-01-01"
) -> pd.DataFrame:
    """Generate deterministic synthetic OHLCV bars in the canonical frame layout.

    Args:
        days: calendar span in days (>= 1); the frame has ``days * bars_per_day`` rows.
        seed: seed of the numpy random generator (>= 0); the same seed gives the same frame.
        freq: bar spacing: ``"1d"``, ``"1h"``, ``"1m"`` or any ``<n>m``/``<n>min``/``<n>h``/
            ``<n>d`` that divides a day evenly (e.g. ``"15m"``, ``"4h"``).
        start: time of the first bar (read as UTC when it has no time zone).

    Returns:
        A frame with a UTC ``DatetimeIndex`` named ``time`` and float64 columns
        ``open high low close volume``; high >= max(open, close), low <= min(open, close)
        and every price > 0.

    Raises:
        ParameterError: an argument has an invalid value.
    """
    step = _parse_freq(freq)
    bars = _bar_count(days, step)
    first = _parse_start(start)
    rng = _rng(seed)
    step_days = step / DAY
    shocks = rng.standard_normal(bars)
    regimes = _regime_path(rng, bars, step_days)
    sigma = _volatility(shocks, regimes, step_days)
    returns = _log_returns(shocks, sigma, regimes, step_days)
    frame = _ohlcv(rng, returns, sigma, shocks, step_days)
    times = pd.date_range(first, periods=bars, freq=step, name="time")
    frame.index = pd.DatetimeIndex(times, freq=None).as_unit("ns")  # no freq, as loaded data
    return frame


def _parse_freq(freq: str) -> pd.Timedelta:
    match = _FREQ.match(freq) if isinstance(freq, str) else None
    step = pd.Timedelta(int(match[1]), unit=_UNIT[match[2].lower()]) if match else None
    if step is None or step <= pd.Timedelta(0) or DAY % step != pd.Timedelta(0):
        raise ParameterError(
            f"`freq` must be a bar spacing that divides a day, such as 1d, 4h, 1h, 15m or 1m; "
            f"got {freq!r}"
        )
    return step


def _bar_count(days: int, step: pd.Timedelta) -> int:
    if isinstance(days, bool) or not isinstance(days, int | np.integer) or days < 1:
        raise ParameterError(f"`days` must be a whole number of days >= 1, got {days!r}")
    bars = int(days * (DAY // step))
    if bars > MAX_BARS:
        raise ParameterError(
            f"`days`={days} at `freq`={step} gives {bars:,} bars, more than the "
            f"{MAX_BARS:,} the demo generator makes; use fewer days or a coarser freq"
        )
    return bars


def _parse_start(start: str) -> pd.Timestamp:
    try:
        first = pd.Timestamp(start)
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"`start` must be a date such as '2021-01-01', got {start!r} ({exc})"
        ) from None
    if pd.isna(first):
        raise ParameterError(f"`start` must be a date such as '2021-01-01', got {start!r}")
    return first.tz_localize("UTC") if first.tzinfo is None else first.tz_convert("UTC")


def _rng(seed: int) -> np.random.Generator:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ParameterError(f"`seed` must be a whole number >= 0, got {seed!r}")
    return np.random.default_rng(int(seed))


def _regime_path(rng: np.random.Generator, bars: int, step_days: float) -> np.ndarray:
    """Regime index per bar: a Markov chain with geometric holding times (one draw per
    regime spell, so the loop runs once per spell, not once per bar)."""
    states: list[int] = []
    lengths: list[int] = []
    state = int(rng.integers(len(_REGIMES)))
    covered = 0
    while covered < bars:
        mean_bars = max(_REGIMES[state].mean_days / step_days, 1.0)
        states.append(state)
        lengths.append(int(rng.geometric(1.0 / mean_bars)))
        covered += lengths[-1]
        state = int(rng.choice(len(_REGIMES), p=_TRANSITIONS[state]))
    return np.repeat(np.array(states), lengths)[:bars]


def _volatility(shocks: np.ndarray, regimes: np.ndarray, step_days: float) -> np.ndarray:
    """Per-bar volatility: EGARCH(1,1) log-variance, linear in the standardised shocks."""
    persistence = 0.5 ** (step_days / _VOL_HALF_LIFE_DAYS)
    size = np.abs(shocks) - np.sqrt(2.0 / np.pi)
    innovation_sd = np.sqrt(1.0 - 2.0 / np.pi + _LEVERAGE**2)
    alpha = _LOG_VOL_SD * np.sqrt(1.0 - persistence**2) / innovation_sd
    innovation = np.concatenate(([0.0], alpha * (size + _LEVERAGE * shocks)[:-1]))
    log_vol = _ar1_filter(innovation, persistence)
    # E[exp(2h)] = exp(2 var h) for Gaussian h: rescale so the mean variance hits the target
    base = DAILY_VOL * np.sqrt(step_days) * np.exp(-(_LOG_VOL_SD**2))
    scale = np.array([regime.vol_scale for regime in _REGIMES])[regimes]
    return base * scale * np.exp(log_vol)


def _ar1_filter(x: np.ndarray, a: float) -> np.ndarray:
    """``y_t = a y_(t-1) + x_t`` from ``y_(-1) = 0`` (what ``scipy.signal.lfilter([1],
    [1, -a], x)`` computes), as a Hillis-Steele scan: log2(n) vectorised passes. Written by
    hand because importing scipy.signal costs about a second, most of a demo run's start.
    """
    y = np.array(x, dtype=np.float64)
    span = np.full(len(y), float(a))  # a ** (number of terms each partial sum spans)
    shift = 1
    while shift < len(y):
        y[shift:] = y[shift:] + span[shift:] * y[:-shift]  # the right side reads old values
        span[shift:] = span[shift:] * span[:-shift]
        shift *= 2
    return y


def _log_returns(
    shocks: np.ndarray, sigma: np.ndarray, regimes: np.ndarray, step_days: float
) -> np.ndarray:
    """Regime drift plus noise; in range spells an OU pull towards a slow anchor."""
    drift = np.array([regime.drift for regime in _REGIMES])[regimes] * step_days
    returns = drift - 0.5 * sigma**2 + sigma * shocks
    for begin, end in _spells(regimes):
        half_life = _REGIMES[regimes[begin]].pull_half_life_days
        if half_life is not None:
            returns[begin:end] = _mean_revert(returns[begin:end], half_life, step_days)
    return returns


def _spells(regimes: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(regimes)) + 1
    bounds = np.concatenate(([0], edges, [len(regimes)]))
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))


def _mean_revert(raw: np.ndarray, half_life_days: float, step_days: float) -> np.ndarray:
    """Returns of one range spell. With d the log distance from the anchor (0 at the
    spell's start), r_t = u_t - kappa d_(t-1) and the anchor moves by lambda d_(t-1),
    so d_t = (1 - kappa - lambda) d_(t-1) + u_t: one linear filter."""
    kappa = 1.0 - 0.5 ** (step_days / half_life_days)
    lam = 1.0 - 0.5 ** (step_days / _ANCHOR_HALF_LIFE_DAYS)
    distance = _ar1_filter(raw, 1.0 - kappa - lam)
    return raw - kappa * np.concatenate(([0.0], distance[:-1]))


def _ohlcv(
    rng: np.random.Generator,
    returns: np.ndarray,
    sigma: np.ndarray,
    shocks: np.ndarray,
    step_days: float,
) -> pd.DataFrame:
    """Bars from log returns: open = previous close; high/low drawn from the exact
    distribution of a Brownian bridge's maximum/minimum between open and close."""
    log_close = np.log(START_PRICE) + np.cumsum(returns)
    log_open = np.concatenate(([np.log(START_PRICE)], log_close[:-1]))
    spread = -2.0 * sigma**2 * np.log(rng.uniform(size=(2, len(returns))))
    up = 0.5 * (returns + np.sqrt(returns**2 + spread[0]))
    down = 0.5 * (returns - np.sqrt(returns**2 + spread[1]))
    open_, close = np.exp(log_open), np.exp(log_close)
    high = np.maximum(np.exp(log_open + up), np.maximum(open_, close))
    low = np.minimum(np.exp(log_open + down), np.minimum(open_, close))
    typical_sigma = DAILY_VOL * np.sqrt(step_days)
    noise = np.exp(0.4 * rng.standard_normal(len(returns)) - 0.08)
    volume = DAILY_VOLUME * step_days * noise * (sigma / typical_sigma) * (0.5 + np.abs(shocks))
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume},
        dtype="float64",
    )
