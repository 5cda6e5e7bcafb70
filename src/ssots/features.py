"""Technical indicators, the eight Q-dimensions and the training-only ``Normalizer``
(MODEL.md sections 2 and 3)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ssots.errors import ParameterError

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

LONGEST_WINDOW = 50
"""Bars of history the slowest indicator (SMA50) needs before its first value."""


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
            raise ParameterError(
                f"expected {self.low_.shape[0]} columns, got {values.shape[1]}"
            )
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
