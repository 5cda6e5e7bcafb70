"""Market data for SSO-TS: every source becomes one canonical OHLCV frame.

The canonical frame (MODEL.md section 1) has a UTC ``DatetimeIndex`` named ``time``,
strictly increasing, and float64 columns ``open high low close volume`` with no NaN.

- ``demo``: deterministic synthetic bars (regime-switching GBM with clustered volatility).
- ``load``: a CSV or Parquet file in any common exchange/aggregator layout, repaired and
  validated, with a ``LoadReport`` of what was detected and repaired.
- ``normalize_frame``: the same canonicalisation for a table already in memory.
- ``MIN_ROWS``: fewest usable rows (longest indicator window plus label horizon).
"""

from __future__ import annotations

from ssots.data.demo import demo
from ssots.data.loader import MIN_ROWS, LoadReport, load, normalize_frame

__all__ = ["MIN_ROWS", "LoadReport", "demo", "load", "normalize_frame"]
