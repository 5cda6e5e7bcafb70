"""One loader from the OHLCV files users bring to SSO-TS's canonical market-data frame.

The canonical frame (MODEL.md section 1) has a UTC ``DatetimeIndex`` named ``time``
(nanosecond unit), strictly increasing, and float64 columns ``open high low close volume``
with no NaN, high >= max(open, close), low <= min(open, close) and prices > 0.

``load`` reads a CSV (any of ``,`` ``;`` tab ``|``, banner lines, BOM, CRLF, gzip) or a
Parquet file; ``normalize_frame`` canonicalises an already-parsed frame. Both return a
``LoadReport`` saying how the data were read, what was repaired and what the data checks
found (gaps, price outliers, zero-volume runs: ``DataQuality``), and raise ``DataError``
with what to do when the data cannot be used. ``check_gaps`` is the check training makes
before it trains across a hole. Everything is vectorised: no per-row loops.

Private modules (their names are public to each other, never used outside this package
except ``_read.sniff``/``split_fields``/``gunzip``, which are re-exported here):

- ``_limits``: ``MAX_ROWS``, ``MAX_COLUMNS``, ``MAX_DECODED_BYTES``, checked before any
  table is decoded (Parquet by its footer, CSV by its line and header field counts).
- ``_read``: bytes to a raw table (the one gzip guard, Parquet, encoding, banners, the
  one CSV sniffer).
- ``_columns``: canonical column names and matching a table's columns to them.
- ``_timestamps``: finding and parsing the time column.
- ``_numbers``: price and volume values, including numbers written as text.
- ``_repair``: the repairs applied to the parsed frame.
- ``_quality``: the data checks (gaps, outliers, zero-volume runs) and ``check_gaps``.
- ``_report``: ``LoadReport``.
- here: ``load``, ``normalize_frame`` and the row-count checks (``MIN_ROWS``).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ssots.data.market._columns import COLUMNS, PRICE_COLUMNS, index_as_column, map_columns
from ssots.data.market._limits import MAX_COLUMNS, MAX_DECODED_BYTES, MAX_ROWS, check_shape
from ssots.data.market._numbers import numeric_column
from ssots.data.market._quality import (
    GAP_MULTIPLE,
    OUTLIER_FACTOR,
    DataQuality,
    check_gaps,
    find_gaps,
)
from ssots.data.market._read import (
    MAX_GUNZIPPED_BYTES,
    gunzip,
    parse_file,
    read_bytes,
    sniff,
    split_fields,
)
from ssots.data.market._repair import repair_frame
from ssots.data.market._report import LoadReport, count_of, make_report
from ssots.data.market._timestamps import find_time_column, join_date_and_clock, parse_times
from ssots.errors import DataError, ParameterError
from ssots.spec import min_rows as needed_rows
from ssots.spec import min_rows_reason

__all__ = [
    "COLUMNS",
    "GAP_MULTIPLE",
    "MAX_COLUMNS",
    "MAX_DECODED_BYTES",
    "MAX_GUNZIPPED_BYTES",
    "MAX_ROWS",
    "MIN_ROWS",
    "OUTLIER_FACTOR",
    "PRICE_COLUMNS",
    "DataQuality",
    "LoadReport",
    "check_gaps",
    "find_gaps",
    "gunzip",
    "load",
    "normalize_frame",
    "sniff",
    "split_fields",
]

MIN_ROWS = needed_rows()
"""Fewest usable rows (134): what a training run with the default split and horizon needs
(``ssots.spec.min_rows``: warm-up + labelled rows for the split + label horizon)."""


def load(
    path: str | Path,
    *,
    min_rows: int = MIN_ROWS,
    max_expanded_bytes: int | None = None,
    gap_multiple: float = GAP_MULTIPLE,
) -> tuple[pd.DataFrame, LoadReport]:
    """Read a CSV or Parquet file of prices into the canonical OHLCV frame.

    Parquet is read when the suffix is ``.parquet``/``.pq`` (or the bytes say so); anything
    else is read as delimited text, gzip-compressed or not.

    Args:
        path: the file to read.
        min_rows: fewest usable rows to accept (default MIN_ROWS = 134).
        max_expanded_bytes: largest decompressed size of a gzip file (default
            ``MAX_GUNZIPPED_BYTES``, 4 GiB) and largest estimated decoded size of a
            Parquet table (default ``MAX_DECODED_BYTES``, 4 GiB); an upload passes its own
            limit.
        gap_multiple: the report lists steps longer than this many median spacings as
            gaps (default 3).

    Returns:
        The canonical frame and a LoadReport (with the file's sha256).

    Raises:
        TooLargeError: a gzip file or a Parquet table expands past ``max_expanded_bytes``.
        DataError: the file is missing, unreadable or not usable market data, or has more
            than ``MAX_ROWS`` rows or ``MAX_COLUMNS`` columns (checked before parsing).
        ParameterError: ``min_rows`` is below 2, or ``gap_multiple`` is not above 1.
    """
    _check_min_rows(min_rows)
    path = Path(path)
    data = read_bytes(path)
    raw, file_layout = parse_file(data, path, max_expanded_bytes=max_expanded_bytes)
    frame, report = normalize_frame(
        raw, source=str(path), min_rows=min_rows, gap_multiple=gap_multiple
    )
    digest = hashlib.sha256(data).hexdigest()
    return frame, replace(report, sha256=digest, layout={**file_layout, **report.layout})


def normalize_frame(
    raw: pd.DataFrame,
    *,
    source: str,
    min_rows: int = MIN_ROWS,
    gap_multiple: float = GAP_MULTIPLE,
) -> tuple[pd.DataFrame, LoadReport]:
    """Turn an already-parsed price table into the canonical OHLCV frame.

    Finds the time and price columns by name, parses times (unix seconds/ms per row, or
    text dates in a detected format), cleans numbers ("28,420.3", "57.32K", "1.2E+11",
    "-", "null"), then sorts, de-duplicates and drops unusable rows, recording each repair.

    Args:
        raw: the table as read, columns named as in the source (a DatetimeIndex is used
            as the time column).
        source: name of the data for messages and the report, e.g. a path or URL.
        min_rows: fewest usable rows to accept (default MIN_ROWS = 134).
        gap_multiple: the report lists steps longer than this many median spacings as
            gaps (default 3).

    Returns:
        The canonical frame and a LoadReport (``sha256`` is None).

    Raises:
        DataError: no time or close column, non-numeric prices, unparseable times,
            fewer than ``min_rows`` usable rows, or more than ``MAX_ROWS`` rows or
            ``MAX_COLUMNS`` columns.
        ParameterError: ``min_rows`` is below 2, or ``gap_multiple`` is not above 1.
    """
    _check_min_rows(min_rows)
    check_shape(len(raw), len(raw.columns), source)
    table = index_as_column(raw)
    if table.empty:
        raise DataError(f"{source} has no data rows; pass a table with at least {min_rows} rows")
    columns = map_columns(table, source)
    time_column = find_time_column(table, columns, source)
    table, time_column = join_date_and_clock(table, time_column)
    times, time_format = parse_times(table[time_column], time_column, source)
    values = {
        name: numeric_column(table[orig], orig, name, source) for name, orig in columns.items()
    }
    frame = pd.DataFrame(values, index=times)
    frame, repairs = repair_frame(frame, time_column)
    _check_enough(frame, len(table), repairs, source, min_rows)
    layout = {"time_column": time_column, "time_format": time_format, "columns": columns}
    return frame, make_report(frame, source, layout, len(table), repairs, gap_multiple)


def _check_min_rows(min_rows: int) -> None:
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 2:
        raise ParameterError(f"`min_rows` must be a whole number >= 2, got {min_rows!r}")


def _check_enough(
    frame: pd.DataFrame, rows_read: int, repairs: list[str], source: str, min_rows: int
) -> None:
    if len(frame) >= min_rows:
        return
    why = f" to train with the default split and horizon ({min_rows_reason()})"
    why = why if min_rows == MIN_ROWS else ""
    dropped = f" of {rows_read:,} read ({'; '.join(repairs)})" if repairs else ""
    raise DataError(
        f"{source} has {count_of(len(frame), 'usable row')}{dropped}; SSO-TS needs at least "
        f"{min_rows}{why}; pass a longer price history"
    )
