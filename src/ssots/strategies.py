"""Trading strategies: the direction d_t in {-1, +1} each one calls at every bar
(MODEL.md section 4). Directions use only indicators at or before bar t."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ssots import features
from ssots.spec import check_strategy


def direction(strategy: str, indicators: pd.DataFrame, raw_dimensions: pd.DataFrame) -> np.ndarray:
    """The strategy's direction at every bar.

    Args:
        strategy: a key of ``STRATEGIES``.
        indicators: output of ``features.compute_indicators``.
        raw_dimensions: output of ``features.dimensions`` (same index).

    Returns:
        float64 array of +1 (long) and -1 (short); during warm-up the comparison with NaN
        is False, so those bars read -1 and callers drop them with the warm-up rows.

    Raises:
        ParameterError: unknown strategy.
    """
    check_strategy(strategy)
    if strategy == "momentum-cross":
        long_call = indicators["sma20"].to_numpy() > indicators["sma50"].to_numpy()
    elif strategy == "rsi-enhanced":
        long_call = indicators["rsi14"].to_numpy() < 50.0
    elif strategy == "bollinger-bands":
        long_call = raw_dimensions["bb_position"].to_numpy() < 0.5
    else:
        long_call = indicators["macd_hist"].to_numpy() > 0.0
    return np.where(long_call, 1.0, -1.0)


@dataclass(frozen=True)
class Signals:
    """What a strategy sees of a price series: indicators, raw dimensions, its calls."""

    indicators: pd.DataFrame
    raw_dimensions: pd.DataFrame
    direction: np.ndarray


def signals(strategy: str, frame: pd.DataFrame) -> Signals:
    """Indicators, the eight raw dimensions and the strategy's direction for ``frame``:
    the one place training and scoring turn prices into model inputs.

    Raises:
        ParameterError: unknown strategy.
        DataError: unusable prices (as ``features.compute_indicators``).
    """
    indicators = features.compute_indicators(frame)
    raw_dimensions = features.dimensions(frame, indicators)
    return Signals(indicators, raw_dimensions, direction(strategy, indicators, raw_dimensions))
