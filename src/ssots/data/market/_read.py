"""Reading a file's bytes into a raw table: gzip, Parquet, text encoding and BOM, banner
lines above the header, the delimiter, headerless Binance klines, and refusing files that
are not price tables (ZIP/Excel, binary, HTML, JSON)."""

from __future__ import annotations

import csv
import io
import re
import zlib
from pathlib import Path
from typing import Any

import pandas as pd

from ssots.data.market._columns import PRICE_ALIASES, column_key
from ssots.data.market._limits import check_parquet, check_text, unreadable_parquet
from ssots.errors import DataError, TooLargeError

_KLINE_COLUMNS = (
    "open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume",
    "trades", "taker_base_volume", "taker_quote_volume", "ignore",
)  # fmt: skip
"""Binance public-data klines (data.binance.vision), which have no header row."""

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_SNIFF_LINES = 30
_PARQUET_SUFFIXES = (".parquet", ".pq")


def read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise DataError(f"no such file: {path}; pass a CSV or Parquet path, or `demo`")
    if path.is_dir():
        raise DataError(f"{path} is a folder; pass one CSV or Parquet file inside it")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path} ({exc.strerror}); check its permissions") from None
    if not data:
        raise DataError(f"{path} is empty (0 bytes); pass a CSV or Parquet file of prices")
    return data


def parse_file(
    data: bytes, path: Path, *, max_expanded_bytes: int | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The raw table in ``data`` (the bytes of ``path``) and how it was laid out."""
    if data.startswith(GZIP_MAGIC):
        data = gunzip(data, path, limit=max_expanded_bytes)
    if data.startswith(b"PAR1") or path.suffix.lower() in _PARQUET_SUFFIXES:
        return _read_parquet(data, path, limit=max_expanded_bytes), {"format": "parquet"}
    if data.startswith(b"PK\x03\x04"):
        raise DataError(
            f"{path} is a ZIP archive or an Excel workbook, not CSV text; unzip it, or save "
            "the sheet as CSV, and pass the CSV file"
        )
    text, bom = _decode(data, path)
    return _read_text(text, path, bom)


GZIP_MAGIC = b"\x1f\x8b"
MAX_GUNZIPPED_BYTES = 4 * 1024**3
"""Largest decompressed size of a gzip file: a bigger one is refused (a zip bomb guard)."""


def gunzip(data: bytes, path: Path, *, limit: int | None = None) -> bytes:
    """The decompressed bytes of a gzip file; the one gzip guard of SSO-TS. At most
    ``limit`` bytes (default ``MAX_GUNZIPPED_BYTES``) are ever inflated in memory.

    Raises:
        TooLargeError: it expands past ``limit``.
        DataError: it is damaged or truncated.
    """
    limit = MAX_GUNZIPPED_BYTES if limit is None else limit
    inflater = zlib.decompressobj(wbits=31)  # 31: expect a gzip header
    try:
        text = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise DataError(f"{path} is a damaged gzip file ({exc}); download it again") from None
    if len(text) > limit:
        raise TooLargeError(
            f"{path} expands to more than {_size(limit)} when decompressed; split it into "
            "smaller files",
            limit=limit,
        )
    if not inflater.eof:
        raise DataError(f"{path} is a truncated gzip file; download it again")
    return text


def _size(count: int) -> str:
    if count >= 1024**3:
        return f"{count / 1024**3:g} GiB"
    return f"{count / 1024**2:g} MB" if count >= 1024**2 else f"{count:,} bytes"


def _read_parquet(data: bytes, path: Path, *, limit: int | None = None) -> pd.DataFrame:
    """The table of a Parquet file, its footer checked first (rows, columns, decoded size
    against ``limit``)."""
    try:
        check_parquet(data, path, limit=limit)
        return pd.read_parquet(io.BytesIO(data))
    except ImportError:
        raise DataError(
            f"reading {path} needs pyarrow; install it with `pip install 'ssots[parquet]'`"
        ) from None
    except DataError:
        raise
    except Exception as exc:  # pyarrow raises several unrelated types for corrupt files
        raise unreadable_parquet(path, exc) from None


def _decode(data: bytes, path: Path) -> tuple[str, bool]:
    """Bytes to text (UTF-8/UTF-16 with or without BOM, else Windows-1252) and BOM flag."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), True
    if b"\x00" in data[:8192]:
        raise DataError(
            f"{path} is a binary file, not CSV text; pass a CSV file, or a Parquet file "
            "named *.parquet"
        )
    bom = data.startswith(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8-sig"), bom
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), False


def _read_text(text: str, path: Path, bom: bool) -> tuple[pd.DataFrame, dict[str, Any]]:
    _refuse_markup(text, path)
    header_at, delimiter, names = sniff(text)
    check_text(text, header_at, delimiter, path)
    options: dict[str, Any] = {"skiprows": header_at}
    if names is not None:
        options = {"header": None, "names": list(names)}
    try:
        table = pd.read_csv(
            io.StringIO(text), sep=delimiter, skipinitialspace=True, index_col=False,
            low_memory=False, **options,
        )  # fmt: skip
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(
            f"could not read {path} as {DELIMITERS[delimiter]}-separated text ({exc}); "
            "check that every line has as many fields as the header"
        ) from None
    if table.empty:
        raise DataError(
            f"{path} has a header line but no data rows; pass a file with at least "
            "one row of prices per bar"
        )
    layout = {
        "format": "csv",
        "delimiter": delimiter,
        "banner_lines": header_at,
        "header": "Binance klines (no header row)" if names is not None else "present",
        "bom": bom,
    }
    return table, layout


def _refuse_markup(text: str, path: Path) -> None:
    start = text.lstrip()[:1]
    if not start:
        raise DataError(f"{path} holds only blank lines; pass a CSV file of prices")
    if re.match(r"\s*<(!doctype|html|\?xml|!--|head|body|table)", text[:512], re.IGNORECASE):
        raise DataError(
            f"{path} looks like an HTML or XML page, not CSV; download the raw CSV file "
            "(on GitHub, the Raw button) and pass that"
        )
    if start in "{[":
        raise DataError(
            f"{path} looks like JSON, not CSV; convert it to CSV, or read it with pandas "
            "and pass the frame to `ssots.data.normalize_frame`"
        )


def sniff(text: str) -> tuple[int, str, tuple[str, ...] | None]:
    """(index of the header line, delimiter, kline column names if there is no header) of
    delimited text, judged on its first lines: the one CSV sniffer of SSO-TS.

    The header is the first line that, split on some delimiter, names a price column;
    lines above it are banners. With no such line, a numeric first line of 6+ fields
    starting with a millisecond time is read as Binance klines; otherwise line 0 is the
    header and column matching reports what is missing.
    """
    lines = text[:65536].splitlines()[:_SNIFF_LINES]
    prices = {alias for aliases in PRICE_ALIASES.values() for alias in aliases}
    for index, line in enumerate(lines):
        best = max(DELIMITERS, key=lambda d: len(split_fields(line, d)))
        fields = split_fields(line, best)
        if len(fields) >= 2 and prices & {column_key(field) for field in fields}:
            return index, best, None
    first = lines[0] if lines else ""
    fields = split_fields(first, ",")
    if 6 <= len(fields) <= len(_KLINE_COLUMNS) and _is_epoch_ms(fields):
        return 0, ",", _KLINE_COLUMNS[: len(fields)]
    return 0, max(DELIMITERS, key=lambda d: len(split_fields(first, d))), None


def split_fields(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


def _is_epoch_ms(fields: list[str]) -> bool:
    numbers = pd.to_numeric(pd.Series(fields), errors="coerce")
    return bool(numbers.notna().all() and numbers.iloc[0] > 1e11)
