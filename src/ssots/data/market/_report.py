"""``LoadReport``: how a dataset was read, what was repaired and what the data checks
found, and its text forms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ssots.data.market._quality import GAP_MULTIPLE, DataQuality, assess
from ssots.data.market._read import DELIMITERS


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
        quality: gaps, price outliers and zero-volume runs (``_quality``'s rules).
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
    quality: DataQuality

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
            "quality": self.quality.to_dict(),
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
        return lines + self.quality.summary_lines()


def count_of(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def make_report(
    frame: pd.DataFrame,
    source: str,
    layout: dict[str, Any],
    rows_read: int,
    repairs: list[str],
    gap_multiple: float = GAP_MULTIPLE,
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
        quality=assess(frame, gap_multiple=gap_multiple),
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
        parts.append(f"{DELIMITERS[layout['delimiter']]}-separated")
    if layout.get("banner_lines"):
        parts.append(f"{layout['banner_lines']} banner line(s) skipped")
    if layout.get("bom"):
        parts.append("byte-order mark")
    parts.append(f"time from `{layout['time_column']}` ({layout['time_format']})")
    return ", ".join(parts)
