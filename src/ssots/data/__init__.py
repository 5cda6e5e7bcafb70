"""Market data for SSO-TS: every source becomes one canonical OHLCV frame.

The canonical frame (MODEL.md section 1) has a UTC ``DatetimeIndex`` named ``time``,
strictly increasing, and float64 columns ``open high low close volume`` with no NaN.

- ``market``: parsing. ``load`` reads a CSV or Parquet file in any common
  exchange/aggregator layout, repaired and validated, with a ``LoadReport`` of what was
  detected and repaired and what the data checks found (gaps, price outliers, zero-volume
  runs); ``normalize_frame`` does the same for a table in memory; ``MIN_ROWS`` is the
  fewest usable rows, the number a default training run needs (``ssots.spec.min_rows``).
- ``sources``: where data comes from: ``demo`` (deterministic synthetic bars), the
  curated Kaggle ``catalog``, ``kaggle`` (search, download, file selection) and
  ``reference`` (parsing a ``--dataset`` value into a typed reference).

Resolving a reference to data and registering datasets is ``ssots.services.datasets``;
the registry itself is ``ssots.store.datasets``.
"""

from __future__ import annotations

from ssots.data.market import MIN_ROWS, LoadReport, load, normalize_frame
from ssots.data.sources.demo import demo

__all__ = ["MIN_ROWS", "LoadReport", "demo", "load", "normalize_frame"]
