"""Repairs of a parsed frame: unparseable times, order, missing or inconsistent prices,
repeated timestamps, and derived open/high/low/volume; each one recorded as a line."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ssots.data.market._columns import COLUMNS, PRICE_COLUMNS
from ssots.data.market._report import count_of


def repair_frame(frame: pd.DataFrame, time_column: str) -> tuple[pd.DataFrame, list[str]]:
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
        repairs.append(f"dropped {count_of(count, 'row')} {what}")
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
    repairs.append(f"sorted {count_of(out_of_order, 'out-of-order row')} into time order")
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
        repairs.append(f"set {count_of(missing, 'missing volume')} to 0")
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
