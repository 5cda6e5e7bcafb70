"""Price and volume values: numeric columns, and numbers written as text ("28,420.3",
"1.234,5", "57.32K", "$1 234", "-", "null")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ssots.errors import DataError

NULL_TOKENS = ("", "-", "--", "—", "null", "none", "nan", "na", "n/a", "#n/a", "nat")
_SUFFIX = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


def numeric_column(column: pd.Series, orig: str, name: str, source: str) -> np.ndarray:
    """A price/volume column as float64 (NaN where empty); refuses non-numeric prices."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = pd.Series(column, dtype="float64")
    else:
        values = _text_numbers(column, orig, name, source)
    if name != "volume" and values.notna().sum() == 0:
        raise DataError(
            f"the {name} column `{orig}` of {source} holds no numbers (every value is empty "
            "or null); pass a file with prices in it"
        )
    return values.to_numpy(dtype="float64", na_value=np.nan)


def _text_numbers(column: pd.Series, orig: str, name: str, source: str) -> pd.Series:
    """Numbers from text; a price column where most values are not numbers is refused."""
    text = column.astype(str).str.strip()
    empty = text.isna() | text.str.lower().isin(NULL_TOKENS)
    text = text.where(~empty)
    values = pd.to_numeric(text, errors="coerce")
    if values.notna().sum() < (~empty).sum():
        values = _parse_messy_numbers(text)
    bad = text[values.isna() & ~empty]
    if name != "volume" and len(bad) > 0.5 * (~empty).sum():
        raise DataError(
            f"the {name} column `{orig}` of {source} is not numeric ({len(bad):,} values "
            f"such as {bad.iloc[0]!r} are not numbers); map the right column to `{name}` or "
            "fix its values"
        )
    return values


def _parse_messy_numbers(text: pd.Series) -> pd.Series:
    """Numbers such as "28,420.3", "1.234,5", "57.32K", "1.38M", "-1.07%", "$1 234"."""
    text = text.str.replace(r"[\s\u00a0\u202f$€£%']", "", regex=True)
    multiplier = text.str[-1:].str.upper().map(_SUFFIX).astype("float64").fillna(1.0)
    text = text.where(multiplier == 1.0, text.str[:-1])
    if text.str.contains(r",\d{1,2}$|,\d{4,}$|\.\d{3},", regex=True).any():
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        text = text.str.replace(",", "", regex=False)
    return pd.to_numeric(text, errors="coerce") * multiplier
