"""Times: finding the time column (joining separate date and clock columns) and parsing
it as unix seconds/milliseconds per row or as text dates in a detected format."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from ssots.data.market._columns import column_key
from ssots.data.market._numbers import NULL_TOKENS
from ssots.errors import DataError

_TIME_NAMES = (
    "unix", "unixtime", "opentime", "timeopen", "time", "datetime", "date", "timestamp",
    "ts", "t", "day", "start", "period",
)  # fmt: skip
_SAMPLE = 400
_DATES = (
    "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%d/%m/%Y", "%m/%d/%Y", "%d/%m/%y", "%m/%d/%y",
    "%d.%m.%Y", "%d.%m.%y", "%d-%m-%Y", "%m-%d-%Y", "%b %d, %Y", "%B %d, %Y", "%b-%d-%Y",
    "%d %b %Y", "%d-%b-%Y", "%Y%m%d",
)  # fmt: skip
_CLOCKS = ("", " %H:%M", " %H:%M:%S", " %I-%p", " %I:%M %p", " %I:%M:%S %p")
_TEXT_FORMATS = ("ISO8601", *(date + clock for date in _DATES for clock in _CLOCKS))
"""Candidate text time formats; day-first before month-first, so a tie goes day-first."""


def find_time_column(table: pd.DataFrame, columns: dict[str, str], source: str) -> str:
    """The time column: a unix-number column if any time-named column holds one, else the
    best-named text/datetime column."""
    taken = set(columns.values())
    by_key: dict[str, str] = {}
    for column in table.columns:
        if column not in taken:
            by_key.setdefault(column_key(column), column)
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


def join_date_and_clock(table: pd.DataFrame, time_column: str) -> tuple[pd.DataFrame, str]:
    """A clock-only time column (e.g. MetaTrader's separate Date and Time) is joined to
    the date column, so bars are not all read as falling on one day."""
    column = table[time_column]
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
        return table, time_column
    clocks = column.astype(str).str.strip().iloc[:_SAMPLE]
    date = next((c for c in table.columns if column_key(c) == "date" and c != time_column), None)
    if date is None or not clocks.str.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?").all():
        return table, time_column
    joined = f"{date} + {time_column}"
    text = table[date].astype(str).str.strip() + " " + column.astype(str).str.strip()
    return table.assign(**{joined: text}), joined


def parse_times(column: pd.Series, name: str, source: str) -> tuple[pd.DatetimeIndex, str]:
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
    present = text[text.notna() & ~text.str.lower().isin(NULL_TOKENS)]
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
