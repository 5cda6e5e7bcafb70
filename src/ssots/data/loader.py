"""One loader from the OHLCV files users bring to SSO-TS's canonical market-data frame.

The canonical frame (MODEL.md section 1) has a UTC ``DatetimeIndex`` named ``time``
(nanosecond unit), strictly increasing, and float64 columns ``open high low close volume``
with no NaN, high >= max(open, close), low <= min(open, close) and prices > 0.

``load`` reads a CSV (any of ``,`` ``;`` tab ``|``, banner lines, BOM, CRLF, gzip) or a
Parquet file; ``normalize_frame`` canonicalises an already-parsed frame. Both return a
``LoadReport`` saying how the data were read and what was repaired, and raise ``DataError``
with what to do when the data cannot be used. Everything is vectorised: no per-row loops.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ssots.errors import DataError, ParameterError
from ssots.features import LONGEST_WINDOW
from ssots.labels import DEFAULT_HORIZON

MIN_ROWS = LONGEST_WINDOW + DEFAULT_HORIZON
"""Fewest usable rows: the longest indicator window plus the label horizon."""

PRICE_COLUMNS = ("open", "high", "low", "close")
COLUMNS = (*PRICE_COLUMNS, "volume")

# Column names are compared after _key(): lower case, letters and digits only.
_PRICE_ALIASES: dict[str, tuple[str, ...]] = {
    "open": ("open", "o", "openprice", "opening"),
    "high": ("high", "h", "highprice"),
    "low": ("low", "l", "lowprice"),
    "close": ("close", "c", "price", "last", "closeprice", "lastprice", "closing", "adjclose"),
}
_VOLUME_EXACT = ("volume", "vol", "v", "basevolume", "volumebase", "baseassetvolume")
_QUOTE_HINTS = ("usd", "eur", "currency", "quote", "notional")
_TIME_NAMES = (
    "unix", "unixtime", "opentime", "timeopen", "time", "datetime", "date", "timestamp",
    "ts", "t", "day", "start", "period",
)  # fmt: skip
_KLINE_COLUMNS = (
    "open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume",
    "trades", "taker_base_volume", "taker_quote_volume", "ignore",
)  # fmt: skip
"""Binance public-data klines (data.binance.vision), which have no header row."""

_NULL_TOKENS = ("", "-", "--", "—", "null", "none", "nan", "na", "n/a", "#n/a", "nat")
_SUFFIX = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_SNIFF_LINES = 30
_SAMPLE = 400
_PARQUET_SUFFIXES = (".parquet", ".pq")

_DATES = (
    "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%d/%m/%Y", "%m/%d/%Y", "%d/%m/%y", "%m/%d/%y",
    "%d.%m.%Y", "%d.%m.%y", "%d-%m-%Y", "%m-%d-%Y", "%b %d, %Y", "%B %d, %Y", "%b-%d-%Y",
    "%d %b %Y", "%d-%b-%Y", "%Y%m%d",
)  # fmt: skip
_CLOCKS = ("", " %H:%M", " %H:%M:%S", " %I-%p", " %I:%M %p", " %I:%M:%S %p")
_TEXT_FORMATS = ("ISO8601", *(date + clock for date in _DATES for clock in _CLOCKS))
"""Candidate text time formats; day-first before month-first, so a tie goes day-first."""


@dataclass(frozen=True)
class LoadReport:
    """How a dataset was read and what was repaired.

    Attributes:
        source: the path (or name) the data came from.
        sha256: hex digest of the file's bytes; None for a frame given to normalize_frame.
        layout: how the data were laid out: ``time_column``, ``time_format``, ``columns``
            (canonical name -> original name) and, for files, ``format``, ``delimiter``,
            ``banner_lines``, ``bom``.
        rows_read: data rows the parser produced (header and banner lines not counted).
        rows: rows of the canonical frame.
        start: time of the first bar.
        end: time of the last bar.
        spacing: median spacing between bars.
        repairs: one human-readable line per repair, in the order they were applied.
    """

    source: str
    sha256: str | None
    layout: dict[str, Any]
    rows_read: int
    rows: int
    start: pd.Timestamp
    end: pd.Timestamp
    spacing: pd.Timedelta
    repairs: tuple[str, ...]

    @property
    def spacing_label(self) -> str:
        """The median bar spacing as ``1d``, ``1h``, ``15m``, ``3h 20m``, ``30s``."""
        return _format_timedelta(self.spacing)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-safe builtins (times in ISO 8601, spacing in seconds)."""
        return {
            "source": self.source,
            "sha256": self.sha256,
            "layout": self.layout,
            "rows_read": self.rows_read,
            "rows": self.rows,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "spacing": self.spacing_label,
            "spacing_seconds": self.spacing.total_seconds(),
            "repairs": list(self.repairs),
        }

    def summary_lines(self) -> list[tuple[str, str]]:
        """(label, value) rows for a two-column table such as ``ssots data inspect``."""
        columns = ", ".join(f"{name} <- {orig}" for name, orig in self.layout["columns"].items())
        lines = [("source", self.source)]
        if self.sha256 is not None:
            lines.append(("sha256", self.sha256))
        lines += [("layout", _describe_layout(self.layout)), ("columns", columns)]
        lines += [
            ("rows", f"{self.rows:,} usable of {self.rows_read:,} read"),
            ("span", f"{self.start.isoformat()} to {self.end.isoformat()}"),
            ("spacing", self.spacing_label),
        ]
        lines += [("repair", repair) for repair in self.repairs] or [("repairs", "none")]
        return lines


def load(path: str | Path, *, min_rows: int = MIN_ROWS) -> tuple[pd.DataFrame, LoadReport]:
    """Read a CSV or Parquet file of prices into the canonical OHLCV frame.

    Parquet is read when the suffix is ``.parquet``/``.pq`` (or the bytes say so); anything
    else is read as delimited text, gzip-compressed or not.

    Args:
        path: the file to read.
        min_rows: fewest usable rows to accept (default MIN_ROWS = 55).

    Returns:
        The canonical frame and a LoadReport (with the file's sha256).

    Raises:
        DataError: the file is missing, unreadable or not usable market data.
        ParameterError: ``min_rows`` is below 2.
    """
    _check_min_rows(min_rows)
    path = Path(path)
    data = _read_bytes(path)
    raw, file_layout = _parse_file(data, path)
    frame, report = normalize_frame(raw, source=str(path), min_rows=min_rows)
    digest = hashlib.sha256(data).hexdigest()
    return frame, replace(report, sha256=digest, layout={**file_layout, **report.layout})


def normalize_frame(
    raw: pd.DataFrame, *, source: str, min_rows: int = MIN_ROWS
) -> tuple[pd.DataFrame, LoadReport]:
    """Turn an already-parsed price table into the canonical OHLCV frame.

    Finds the time and price columns by name, parses times (unix seconds/ms per row, or
    text dates in a detected format), cleans numbers ("28,420.3", "57.32K", "1.2E+11",
    "-", "null"), then sorts, de-duplicates and drops unusable rows, recording each repair.

    Args:
        raw: the table as read, columns named as in the source (a DatetimeIndex is used
            as the time column).
        source: name of the data for messages and the report, e.g. a path or URL.
        min_rows: fewest usable rows to accept (default MIN_ROWS = 55).

    Returns:
        The canonical frame and a LoadReport (``sha256`` is None).

    Raises:
        DataError: no time or close column, non-numeric prices, unparseable times, or
            fewer than ``min_rows`` usable rows.
        ParameterError: ``min_rows`` is below 2.
    """
    _check_min_rows(min_rows)
    table = _index_as_column(raw)
    if table.empty:
        raise DataError(f"{source} has no data rows; pass a table with at least {min_rows} rows")
    columns = _map_columns(table, source)
    time_column = _find_time_column(table, columns, source)
    table, time_column = _join_date_and_clock(table, time_column)
    times, time_format = _parse_times(table[time_column], time_column, source)
    values = {
        name: _numeric_column(table[orig], orig, name, source) for name, orig in columns.items()
    }
    frame = pd.DataFrame(values, index=times)
    frame, repairs = _repair(frame, time_column)
    _check_enough(frame, len(table), repairs, source, min_rows)
    layout = {"time_column": time_column, "time_format": time_format, "columns": columns}
    return frame, _report(frame, source, layout, len(table), repairs)


# ---------------------------------------------------------------- files


def _check_min_rows(min_rows: int) -> None:
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 2:
        raise ParameterError(f"`min_rows` must be a whole number >= 2, got {min_rows!r}")


def _read_bytes(path: Path) -> bytes:
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


def _parse_file(data: bytes, path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    if data.startswith(b"\x1f\x8b"):
        data = _gunzip(data, path)
    if data.startswith(b"PAR1") or path.suffix.lower() in _PARQUET_SUFFIXES:
        return _read_parquet(data, path), {"format": "parquet"}
    if data.startswith(b"PK\x03\x04"):
        raise DataError(
            f"{path} is a ZIP archive or an Excel workbook, not CSV text; unzip it, or save "
            "the sheet as CSV, and pass the CSV file"
        )
    text, bom = _decode(data, path)
    return _read_text(text, path, bom)


def _gunzip(data: bytes, path: Path) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError) as exc:
        raise DataError(f"{path} is a damaged gzip file ({exc}); download it again") from None


def _read_parquet(data: bytes, path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(io.BytesIO(data))
    except ImportError:
        raise DataError(
            f"reading {path} needs pyarrow; install it with `pip install 'ssots[parquet]'`"
        ) from None
    except Exception as exc:  # pyarrow raises several unrelated types for corrupt files
        raise DataError(
            f"{path} is not a readable Parquet file ({type(exc).__name__}: {exc}); pass a "
            "Parquet file written by pandas/pyarrow, or a CSV"
        ) from None


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
    lines = text[:65536].splitlines()[:_SNIFF_LINES]
    header_at, delimiter, names = _find_header(lines)
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
            f"could not read {path} as {_DELIMITERS[delimiter]}-separated text ({exc}); "
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


def _find_header(lines: list[str]) -> tuple[int, str, tuple[str, ...] | None]:
    """(index of the header line, delimiter, kline column names if there is no header).

    The header is the first line that, split on some delimiter, names a price column;
    lines above it are banners. With no such line, a numeric first line of 6+ fields
    starting with a millisecond time is read as Binance klines; otherwise line 0 is the
    header and column matching reports what is missing.
    """
    prices = {alias for aliases in _PRICE_ALIASES.values() for alias in aliases}
    for index, line in enumerate(lines):
        best = max(_DELIMITERS, key=lambda d: len(_split(line, d)))
        fields = _split(line, best)
        if len(fields) >= 2 and prices & {_key(field) for field in fields}:
            return index, best, None
    first = lines[0] if lines else ""
    fields = _split(first, ",")
    if 6 <= len(fields) <= len(_KLINE_COLUMNS) and _is_epoch_ms(fields):
        return 0, ",", _KLINE_COLUMNS[: len(fields)]
    return 0, max(_DELIMITERS, key=lambda d: len(_split(first, d))), None


def _split(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


def _is_epoch_ms(fields: list[str]) -> bool:
    numbers = pd.to_numeric(pd.Series(fields), errors="coerce")
    return bool(numbers.notna().all() and numbers.iloc[0] > 1e11)


# ---------------------------------------------------------------- columns


def _key(name: object) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def _index_as_column(raw: pd.DataFrame) -> pd.DataFrame:
    """A DatetimeIndex (e.g. a canonical frame saved to Parquet) becomes a time column."""
    if isinstance(raw.index, pd.DatetimeIndex):
        return raw.rename_axis(raw.index.name or "time").reset_index()
    return raw


def _map_columns(table: pd.DataFrame, source: str) -> dict[str, str]:
    """Canonical name -> original column name, for the columns present."""
    by_key: dict[str, str] = {}
    for column in table.columns:
        by_key.setdefault(_key(column), column)
    found: dict[str, str] = {}
    for name, aliases in _PRICE_ALIASES.items():
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
    base = [column for column in named if not any(hint in _key(column) for hint in _QUOTE_HINTS)]
    return next(iter(exact + base + named), None)


def _no_close_message(table: pd.DataFrame, source: str) -> str:
    names = [str(column) for column in table.columns]
    found = f"no close column found in {source} (columns: {', '.join(names)}); "
    if pd.to_numeric(pd.Series(names), errors="coerce").notna().all():
        return found + "the file has no header row: add one like time,open,high,low,close,volume"
    return found + "rename the closing-price column to `close`"


def _find_time_column(table: pd.DataFrame, columns: dict[str, str], source: str) -> str:
    """The time column: a unix-number column if any time-named column holds one, else the
    best-named text/datetime column."""
    taken = set(columns.values())
    by_key: dict[str, str] = {}
    for column in table.columns:
        if column not in taken:
            by_key.setdefault(_key(column), column)
    named = [by_key[key] for key in _TIME_NAMES if key in by_key]
    named += [
        column for key, column in by_key.items()
        if ("date" in key or "time" in key) and not ("close" in key or "end" in key)
        and column not in named
    ]  # fmt: skip
    named += [
        column for column in table.columns
        if pd.api.types.is_datetime64_any_dtype(table[column]) and column not in named
    ]  # fmt: skip
    if not named:
        raise DataError(
            f"no time column found in {source} (columns: {', '.join(map(str, table.columns))}); "
            "name the timestamp column `time` (unix seconds/milliseconds or dates like 2024-01-31)"
        )
    return next((column for column in named if _epoch_values(table[column]) is not None), named[0])


def _join_date_and_clock(table: pd.DataFrame, time_column: str) -> tuple[pd.DataFrame, str]:
    """A clock-only time column (e.g. MetaTrader's separate Date and Time) is joined to
    the date column, so bars are not all read as falling on one day."""
    column = table[time_column]
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
        return table, time_column
    clocks = column.astype(str).str.strip().iloc[:_SAMPLE]
    date = next((c for c in table.columns if _key(c) == "date" and c != time_column), None)
    if date is None or not clocks.str.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?").all():
        return table, time_column
    joined = f"{date} + {time_column}"
    text = table[date].astype(str).str.strip() + " " + column.astype(str).str.strip()
    return table.assign(**{joined: text}), joined


# ---------------------------------------------------------------- times


def _parse_times(column: pd.Series, name: str, source: str) -> tuple[pd.DatetimeIndex, str]:
    """Times as a UTC nanosecond DatetimeIndex (NaT where unparseable) and how."""
    if pd.api.types.is_datetime64_any_dtype(column):
        times = pd.DatetimeIndex(column)
        times = times.tz_localize("UTC") if times.tz is None else times.tz_convert("UTC")
        how = "datetime values"
    elif (epoch := _epoch_values(column)) is not None:
        times, how = _from_epoch(epoch)
    else:
        times, how = _parse_text_times(column.astype(str).str.strip(), name, source)
    return times.as_unit("ns").rename("time"), how


def _epoch_values(column: pd.Series) -> np.ndarray | None:
    """The column as float unix times if it is numeric and every value is after 1973."""
    if pd.api.types.is_datetime64_any_dtype(column) or pd.api.types.is_bool_dtype(column):
        return None
    if not pd.api.types.is_numeric_dtype(column):  # cheap look at the head of a text column
        head = pd.to_numeric(column.iloc[:_SAMPLE], errors="coerce")
        if head.notna().sum() < 0.5 * len(head):
            return None
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    ok = ~np.isnan(values)
    if ok.sum() < 0.5 * len(values) or not ((values[ok] >= 1e8) & (values[ok] < 9e18)).all():
        return None
    return values


def _from_epoch(values: np.ndarray) -> tuple[pd.DatetimeIndex, str]:
    """Unix times per row: >= 1e17 ns, >= 1e14 us, >= 1e11 ms, else seconds (CDD files mix
    seconds and milliseconds in one column), rounded to the millisecond."""
    units = np.select(
        [values >= 1e17, values >= 1e14, values >= 1e11], [1e-6, 1e-3, 1.0], default=1e3
    )
    millis = np.rint(values * units)
    ok = ~np.isnan(millis)
    nanos = np.full(len(values), np.iinfo(np.int64).min, dtype=np.int64)  # NaT
    nanos[ok] = millis[ok].astype(np.int64) * 1_000_000  # integer product: no float rounding
    times = pd.DatetimeIndex(nanos.view("datetime64[ns]")).tz_localize("UTC")
    names = {1e-6: "nanoseconds", 1e-3: "microseconds", 1.0: "milliseconds", 1e3: "seconds"}
    used = [names[unit] for unit in names if (units[ok] == unit).any()]
    return times, "unix " + " and ".join(used) + (" (per row)" if len(used) > 1 else "")


def _parse_text_times(text: pd.Series, name: str, source: str) -> tuple[pd.DatetimeIndex, str]:
    """Text times in the best candidate format; values it misses get a per-value guess."""
    present = text[text.notna() & ~text.str.lower().isin(_NULL_TOKENS)]
    positions = np.linspace(0, len(present) - 1, min(len(present), _SAMPLE)).astype(int)
    fmt = _best_format(present.iloc[np.unique(positions)])
    if fmt is None:
        _raise_bad_times(name, source, present if len(present) else text, len(text))
    times = _to_datetime(text, fmt)
    failed = times.isna() & text.index.isin(present.index)
    if fmt != "mixed" and failed.any():
        times = times.where(~failed, _to_datetime(text.where(failed), "mixed", fmt))
        fmt = f"{fmt}, others mixed"
    if times.notna().sum() < 0.5 * len(text):
        _raise_bad_times(name, source, text[times.isna()], len(text))
    return pd.DatetimeIndex(times), fmt


def _best_format(sample: pd.Series) -> str | None:
    """The candidate format that parses the most sample values (at least half); among
    equals, the one giving the most monotonic order, then the earliest listed. ``mixed``
    (slow, per value) is tried only when no explicit format parses the whole sample."""
    if sample.empty:
        return None
    ends = (sample.iloc[0], sample.iloc[-1])
    candidates = [f for f in _TEXT_FORMATS if f == "ISO8601" or any(_fits(v, f) for v in ends)]
    scores = [_score(sample, fmt, rank) for rank, fmt in enumerate(candidates)]
    if max(scores)[0] < len(sample):
        scores.append(_score(sample, "mixed", len(candidates)))
    best = max(scores)
    return best[3] if best[0] >= 0.5 * len(sample) else None


def _score(sample: pd.Series, fmt: str, rank: int) -> tuple[int, float, int, str]:
    parsed = _to_datetime(sample, fmt)
    return int(parsed.notna().sum()), _monotonicity(parsed), -rank, fmt


def _fits(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def _monotonicity(times: pd.Series) -> float:
    steps = np.diff(pd.DatetimeIndex(times.dropna()).asi8)
    return abs(float(np.sign(steps).sum())) / max(len(steps), 1)


def _to_datetime(text: pd.Series, fmt: str, like: str = "") -> pd.Series:
    """Parse with one format (errors become NaT); ``mixed`` guesses per value, day-first
    when the format it stands in for (``like``) is day-first."""
    options = {"dayfirst": like.startswith("%d")} if fmt == "mixed" else {}
    try:
        return pd.to_datetime(text, format=fmt, errors="coerce", utc=True, **options)
    except (ValueError, OverflowError, TypeError):
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")


def _raise_bad_times(name: str, source: str, bad: pd.Series, total: int) -> None:
    example = f", e.g. {bad.iloc[0]!r}" if len(bad) else ""
    raise DataError(
        f"could not parse the times in column `{name}` of {source} ({len(bad):,} of "
        f"{total:,} unparseable{example}); use dates like 2024-01-31 or 2024-01-31 13:00, "
        "or unix seconds/milliseconds"
    )


# ---------------------------------------------------------------- numbers


def _numeric_column(column: pd.Series, orig: str, name: str, source: str) -> np.ndarray:
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
    empty = text.isna() | text.str.lower().isin(_NULL_TOKENS)
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


# ---------------------------------------------------------------- repairs


def _repair(frame: pd.DataFrame, time_column: str) -> tuple[pd.DataFrame, list[str]]:
    """Apply every repair in order; return the canonical frame and what was done."""
    repairs: list[str] = []
    unparsed = frame.index.isna()
    frame = _drop(frame, unparsed, f"with an unparseable time in `{time_column}`", repairs)
    frame = _orient(frame, repairs)
    for rows_to_drop, what in (
        (_missing_price, "with a missing price"),
        (_non_positive, "with a price <= 0"),
        (_inconsistent, "whose high/low do not contain open and close"),
        (_repeated, "with a repeated timestamp (kept the last in time order)"),
    ):
        frame = _drop(frame, rows_to_drop(frame), what, repairs)
    return _complete(frame, repairs), repairs


def _drop(frame: pd.DataFrame, mask: np.ndarray, what: str, repairs: list[str]) -> pd.DataFrame:
    count = int(np.count_nonzero(mask))
    if count:
        repairs.append(f"dropped {_count(count, 'row')} {what}")
        return frame[~mask]
    return frame


def _orient(frame: pd.DataFrame, repairs: list[str]) -> pd.DataFrame:
    """Reverse a newest-first table; stable-sort any remaining disorder."""
    if frame.index.is_monotonic_increasing:
        return frame
    steps = np.diff(frame.index.asi8)
    if (steps < 0).sum() > (steps > 0).sum():
        frame = frame.iloc[::-1]
        repairs.append("reversed newest-first order")
        if frame.index.is_monotonic_increasing:
            return frame
    out_of_order = int((np.diff(frame.index.asi8) < 0).sum())
    repairs.append(f"sorted {_count(out_of_order, 'out-of-order row')} into time order")
    return frame.sort_index(kind="stable")


def _missing_price(frame: pd.DataFrame) -> np.ndarray:
    return frame[_prices(frame)].isna().any(axis=1).to_numpy()


def _non_positive(frame: pd.DataFrame) -> np.ndarray:
    return (frame[_prices(frame)] <= 0).any(axis=1).to_numpy()


def _prices(frame: pd.DataFrame) -> list[str]:
    return [name for name in PRICE_COLUMNS if name in frame]


def _inconsistent(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose high is below open/close or whose low is above them (MODEL.md 1)."""
    body = [name for name in ("open", "close") if name in frame]
    bad = np.zeros(len(frame), dtype=bool)
    if "high" in frame:
        bad |= (frame["high"] < frame[body].max(axis=1)).to_numpy()
    if "low" in frame:
        bad |= (frame["low"] > frame[body].min(axis=1)).to_numpy()
    return bad


def _repeated(frame: pd.DataFrame) -> np.ndarray:
    """Every row of a repeated timestamp but the last in time order: the most recently
    written one, since append-logs (oldest first) add corrections at the bottom and
    newest-first exports (already reversed) at the top. In the CryptoDataDownload file
    this keeps the precise millisecond-layout rows over their rounded seconds twins."""
    return frame.index.duplicated(keep="last")


def _complete(frame: pd.DataFrame, repairs: list[str]) -> pd.DataFrame:
    """Derive missing open/high/low from close, fill volume, order the columns."""
    if "open" not in frame:
        frame = frame.assign(open=_previous_close(frame))
        repairs.append("no open column: open set to the previous close (within high/low)")
    for name, pick in (("high", np.maximum), ("low", np.minimum)):
        if name not in frame:
            frame = frame.assign(**{name: pick(frame["open"], frame["close"])})
            repairs.append(f"no {name} column: {name} set to the {pick.__name__} of open and close")
    if "volume" not in frame:
        frame = frame.assign(volume=0.0)
        repairs.append("no volume column: volume set to 0")
    elif (missing := int(frame["volume"].isna().sum())) > 0:
        frame = frame.assign(volume=frame["volume"].fillna(0.0))
        repairs.append(f"set {_count(missing, 'missing volume')} to 0")
    return frame[list(COLUMNS)].astype("float64")


def _previous_close(frame: pd.DataFrame) -> pd.Series:
    """Open for files without one: the previous close (the first bar's own close), kept
    inside the bar's high/low when those exist so the bar stays consistent."""
    opens = frame["close"].shift(1).fillna(frame["close"])
    if "high" in frame:
        opens = np.minimum(opens, frame["high"])
    if "low" in frame:
        opens = np.maximum(opens, frame["low"])
    return opens


def _check_enough(
    frame: pd.DataFrame, rows_read: int, repairs: list[str], source: str, min_rows: int
) -> None:
    if len(frame) >= min_rows:
        return
    why = (
        f" (the {LONGEST_WINDOW}-bar indicator window plus the {DEFAULT_HORIZON}-bar label horizon)"
        if min_rows == MIN_ROWS
        else ""
    )
    dropped = f" of {rows_read:,} read ({'; '.join(repairs)})" if repairs else ""
    raise DataError(
        f"{source} has {_count(len(frame), 'usable row')}{dropped}; SSO-TS needs at least "
        f"{min_rows}{why}; pass a longer price history"
    )


# ---------------------------------------------------------------- report


def _count(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _report(
    frame: pd.DataFrame, source: str, layout: dict[str, Any], rows_read: int, repairs: list[str]
) -> LoadReport:
    spacing = pd.Timedelta(np.median(np.diff(frame.index.asi8)), unit="ns")
    return LoadReport(
        source=source,
        sha256=None,
        layout=layout,
        rows_read=rows_read,
        rows=len(frame),
        start=frame.index[0],
        end=frame.index[-1],
        spacing=spacing,
        repairs=tuple(repairs),
    )


def _format_timedelta(delta: pd.Timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    parts = []
    remaining = round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts)


def _describe_layout(layout: dict[str, Any]) -> str:
    parts = [str(layout.get("format", "table"))]
    if "delimiter" in layout:
        parts.append(f"{_DELIMITERS[layout['delimiter']]}-separated")
    if layout.get("banner_lines"):
        parts.append(f"{layout['banner_lines']} banner line(s) skipped")
    if layout.get("bom"):
        parts.append("byte-order mark")
    parts.append(f"time from `{layout['time_column']}` ({layout['time_format']})")
    return ", ".join(parts)
