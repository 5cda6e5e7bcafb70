"""Column names: the canonical OHLCV names and matching a table's columns to them."""

from __future__ import annotations

import re

import pandas as pd

from ssots.errors import DataError

PRICE_COLUMNS = ("open", "high", "low", "close")
COLUMNS = (*PRICE_COLUMNS, "volume")

# Column names are compared after column_key(): lower case, letters and digits only.
PRICE_ALIASES: dict[str, tuple[str, ...]] = {
    "open": ("open", "o", "openprice", "opening"),
    "high": ("high", "h", "highprice"),
    "low": ("low", "l", "lowprice"),
    "close": ("close", "c", "price", "last", "closeprice", "lastprice", "closing", "adjclose"),
}
_VOLUME_EXACT = ("volume", "vol", "v", "basevolume", "volumebase", "baseassetvolume")
_QUOTE_HINTS = ("usd", "eur", "currency", "quote", "notional")


def column_key(name: object) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def index_as_column(raw: pd.DataFrame) -> pd.DataFrame:
    """A DatetimeIndex (e.g. a canonical frame saved to Parquet) becomes a time column."""
    if isinstance(raw.index, pd.DatetimeIndex):
        return raw.rename_axis(raw.index.name or "time").reset_index()
    return raw


def map_columns(table: pd.DataFrame, source: str) -> dict[str, str]:
    """Canonical name -> original column name, for the columns present."""
    by_key: dict[str, str] = {}
    for column in table.columns:
        by_key.setdefault(column_key(column), column)
    found: dict[str, str] = {}
    for name, aliases in PRICE_ALIASES.items():
        match = next((by_key[alias] for alias in aliases if alias in by_key), None)
        if match is not None:
            found[name] = match
    if "close" not in found:
        raise DataError(_no_close_message(table, source))
    volume = _volume_column(by_key)
    if volume is not None:
        found["volume"] = volume
    return {name: found[name] for name in COLUMNS if name in found}


def _volume_column(by_key: dict[str, str]) -> str | None:
    """Prefer plain/base-asset volume ("Volume BTC") over quote volume ("Volume USDT")."""
    exact = [by_key[key] for key in _VOLUME_EXACT if key in by_key]
    named = [column for key, column in by_key.items() if key.startswith("vol")]
    base = [
        column for column in named if not any(hint in column_key(column) for hint in _QUOTE_HINTS)
    ]
    return next(iter(exact + base + named), None)


def _no_close_message(table: pd.DataFrame, source: str) -> str:
    names = [str(column) for column in table.columns]
    found = f"no close column found in {source} (columns: {', '.join(names)}); "
    if pd.to_numeric(pd.Series(names), errors="coerce").notna().all():
        return found + "the file has no header row: add one like time,open,high,low,close,volume"
    return found + "rename the closing-price column to `close`"
