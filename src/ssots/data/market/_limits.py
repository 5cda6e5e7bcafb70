"""The size limits every table passes before it is parsed: the one home of ``MAX_ROWS``,
``MAX_COLUMNS`` and ``MAX_DECODED_BYTES``.

A file is measured before its contents are decoded, so a small file that would expand
into gigabytes (a Parquet file of a constant column, a CSV header of a million fields) is
refused in milliseconds: CSV text by its line count and its header's field count, Parquet
by its footer (``pyarrow.parquet.ParquetFile(...).metadata``: row count, column count and
the uncompressed size of every column chunk). A frame handed to ``normalize_frame`` is
checked by its shape.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ssots.errors import DataError, TooLargeError

__all__ = [
    "MAX_COLUMNS",
    "MAX_DECODED_BYTES",
    "MAX_ROWS",
    "check_parquet",
    "check_shape",
    "check_text",
    "unreadable_parquet",
]

MAX_ROWS = 5_000_000
"""Most data rows of a table: about 9.5 years of 1-minute bars."""

MAX_COLUMNS = 200
"""Most columns of a table (an OHLCV table needs six; exports add a few dozen at most)."""

MAX_DECODED_BYTES = 4 * 1024**3
"""Largest estimated in-memory size of a Parquet table (at least 8 bytes per cell) when the
caller gives no limit; an upload passes its own (the upload size limit)."""

_CELL_BYTES = 8
"""Least memory a decoded cell takes (a float64, an int64 or an object pointer)."""


def check_shape(rows: int, columns: int, source: str | Path) -> None:
    """Refuse a table of more than ``MAX_ROWS`` rows or ``MAX_COLUMNS`` columns.

    Raises:
        DataError: too many rows or columns; the message gives the limit and what to do.
    """
    if columns > MAX_COLUMNS:
        raise DataError(
            f"{source} has {columns:,} columns; SSO-TS reads tables of at most "
            f"{MAX_COLUMNS} columns; keep the time, open, high, low, close and volume "
            "columns and drop the rest"
        )
    if rows > MAX_ROWS:
        raise DataError(
            f"{source} has {rows:,} rows; SSO-TS reads at most {MAX_ROWS:,} rows (about "
            "9.5 years of 1-minute bars); pass a shorter span or resample to longer bars"
        )


def check_parquet(data: bytes, path: Path, *, limit: int | None = None) -> None:
    """Check a Parquet file's footer before decoding it: its shape (``check_shape``) and
    its estimated decoded size (the larger of 8 bytes per cell and the column chunks'
    uncompressed sizes, per column) against ``limit`` (default ``MAX_DECODED_BYTES``).

    Raises:
        TooLargeError: the table would decode to more than ``limit`` bytes.
        DataError: too many rows or columns, or not a readable Parquet file.
    """
    import io

    import pyarrow.parquet as pq

    limit = MAX_DECODED_BYTES if limit is None else limit
    try:
        metadata = pq.ParquetFile(io.BytesIO(data)).metadata
    except Exception as exc:  # pyarrow raises several unrelated types for corrupt files
        raise unreadable_parquet(path, exc) from None
    columns = [0] * metadata.num_columns
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for column in range(row_group.num_columns):
            columns[column] += row_group.column(column).total_uncompressed_size
    decoded = sum(max(size, metadata.num_rows * _CELL_BYTES) for size in columns)
    if decoded > limit:
        raise TooLargeError(
            f"{path} holds {metadata.num_rows:,} rows of {metadata.num_columns} "
            f"column{'' if metadata.num_columns == 1 else 's'}, "
            f"about {_size(decoded)} once decoded, more than the limit of {_size(limit)}; "
            "split it into smaller files",
            limit=limit,
        )
    check_shape(metadata.num_rows, metadata.num_columns, path)


def check_text(text: str, header_at: int, delimiter: str, path: Path) -> None:
    """Check delimited text before parsing it: its line count against ``MAX_ROWS`` and
    the field count of its header line (line ``header_at``) against ``MAX_COLUMNS``.

    Raises:
        DataError: too many rows or columns.
    """
    start = 0
    for _ in range(header_at):
        start = text.find("\n", start) + 1
        if start == 0:
            return
    end = text.find("\n", start)
    header = text[start : end if end >= 0 else len(text)]
    if header.count(delimiter) + 1 > MAX_COLUMNS:  # a cheap bound before the exact count
        fields = next(csv.reader([header], delimiter=delimiter), [])
        check_shape(0, len(fields), path)
    lines = text.count("\n", start) + (not text.endswith("\n"))
    check_shape(lines - 1, 0, path)


def unreadable_parquet(path: Path, exc: BaseException) -> DataError:
    """The error of a file that pyarrow cannot read as Parquet."""
    return DataError(
        f"{path} is not a readable Parquet file ({type(exc).__name__}: {exc}); pass a "
        "Parquet file written by pandas/pyarrow, or a CSV"
    )


def _size(count: int | float) -> str:
    if count >= 1024**3:
        return f"{count / 1024**3:.3g} GiB"
    return f"{count / 1024**2:.3g} MB" if count >= 1024**2 else f"{count:,} bytes"
