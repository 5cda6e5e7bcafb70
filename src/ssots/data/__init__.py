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

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ssots.data.market import MIN_ROWS, LoadReport, load, normalize_frame
    from ssots.data.sources.demo import demo

_LAZY: dict[str, str] = {
    "MIN_ROWS": "ssots.data.market",
    "LoadReport": "ssots.data.market",
    "load": "ssots.data.market",
    "normalize_frame": "ssots.data.market",
    "demo": "ssots.data.sources.demo",
}
"""Imported on first use, so that ``ssots.data.sources.catalog`` (``ssots data list``)
loads without pandas."""

__all__ = ["MIN_ROWS", "LoadReport", "demo", "load", "normalize_frame"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ssots.data' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
