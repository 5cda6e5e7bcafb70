"""TA-Lib's values of every indicator column: the reference that the tests and
``benchmarks/bench_features.py`` compare ``ssots.features.compute_indicators`` with."""

from __future__ import annotations

import numpy as np
import talib


def talib_indicators(close: np.ndarray) -> dict[str, np.ndarray]:
    """The reference values of every indicator column."""
    log_returns = np.empty_like(close)
    log_returns[:1] = np.nan
    log_returns[1:] = np.log(close[1:] / close[:-1])
    macd, signal, histogram = talib.MACD(close, 12, 26, 9)
    upper, middle, lower = talib.BBANDS(close, 20, 2.0, 2.0, 0)
    return {
        "sma20": talib.SMA(close, 20),
        "sma50": talib.SMA(close, 50),
        "ema12": talib.EMA(close, 12),
        "ema26": talib.EMA(close, 26),
        "rsi14": talib.RSI(close, 14),
        "macd": macd,
        "macd_signal": signal,
        "macd_hist": histogram,
        "bb_upper": upper,
        "bb_middle": middle,
        "bb_lower": lower,
        "volatility20": talib.STDDEV(log_returns, 20, 1.0),
        "momentum5": talib.ROCR(close, 5) - 1.0,
    }
