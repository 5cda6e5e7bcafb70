"""Q-score targets: how good a strategy's call at bar t turned out (MODEL.md section 4)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ssots.errors import ParameterError
from ssots.spec import LABEL_MODES


def performance_labels(
    close: np.ndarray, direction: np.ndarray, volatility: np.ndarray, horizon: int
) -> np.ndarray:
    """Risk-adjusted pay-off of the strategy's call over the next ``horizon`` bars.

    z = d_t * ln(close[t+h] / close[t]) / (sigma_t * sqrt(h)), label = 0.5 + 0.5 tanh(z / 2);
    z = 0 where sigma_t is 0.

    Args:
        close: closing prices, one per bar.
        direction: the strategy's direction d_t in {-1, +1} per bar.
        volatility: volatility(20) per bar (NaN during warm-up).
        horizon: h, bars ahead (>= 1).

    Returns:
        Labels in [0, 1]; NaN for the last ``horizon`` bars (no future yet) and where the
        volatility is undefined.
    """
    _check_horizon(horizon)
    close = np.asarray(close, dtype=np.float64)
    forward_return = np.full(close.shape, np.nan)
    forward_return[:-horizon] = np.log(close[horizon:] / close[:-horizon])
    scale = np.asarray(volatility, dtype=np.float64) * np.sqrt(horizon)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(scale > 0, direction * forward_return / scale, 0.0)
    z[np.isnan(forward_return) | np.isnan(scale)] = np.nan
    return 0.5 + 0.5 * np.tanh(z / 2.0)


def rules_labels(indicators: pd.DataFrame, raw_dimensions: pd.DataFrame, seed: int) -> np.ndarray:
    """The earlier prototypes' heuristic score, kept for comparison (no look-ahead).

    Start at 0.5; RSI in (40, 60) +0.10 else +0.05; MACD hist > 0 +0.15 else +0.05;
    bb_position in (0.3, 0.7) +0.05; momentum > 0 +0.10; plus N(0, 0.02) noise from
    ``seed``; clipped to [0, 1]. NaN where an input is still warming up.
    """
    rsi = indicators["rsi14"].to_numpy()
    macd_hist = indicators["macd_hist"].to_numpy()
    bb_position = raw_dimensions["bb_position"].to_numpy()
    momentum = raw_dimensions["momentum"].to_numpy()
    score = (
        0.5
        + np.where((rsi > 40) & (rsi < 60), 0.10, 0.05)
        + np.where(macd_hist > 0, 0.15, 0.05)
        + np.where((bb_position > 0.3) & (bb_position < 0.7), 0.05, 0.0)
        + np.where(momentum > 0, 0.10, 0.0)
    )
    noise = np.random.default_rng(seed).normal(0.0, 0.02, size=score.shape)
    labels = np.clip(score + noise, 0.0, 1.0)
    warming_up = np.isnan(rsi) | np.isnan(macd_hist) | np.isnan(bb_position) | np.isnan(momentum)
    labels[warming_up] = np.nan
    return labels


def label_lookahead(mode: str, horizon: int) -> int:
    """How many future bars a label of ``mode`` reads: the purge needed at split edges."""
    if mode == "performance":
        _check_horizon(horizon)
        return horizon
    if mode == "rules":
        return 0
    raise ParameterError(f"`labels` must be one of {', '.join(LABEL_MODES)}, got {mode!r}")


def _check_horizon(horizon: int) -> None:
    if horizon < 1:
        raise ParameterError(
            f"`horizon` must be a whole number of bars >= 1, e.g. 5; got {horizon}"
        )
