"""Data checks on a canonical frame: gaps, price outliers and zero-volume runs.

The rules (docs/data.md states them too):

* A **gap** is a step between two consecutive bars longer than ``gap_multiple`` (default
  ``GAP_MULTIPLE`` = 3) times the median bar spacing. Its size is given in spacings and in
  missing bars (the step / spacing, rounded, minus 1). Training refuses a series with a
  gap longer than ``ssots.spec.MAX_GAP_SPACINGS`` spacings unless ``allow_gaps`` is set
  (``check_gaps``): indicators and labels would run across the hole as if it were one bar.
* A **price outlier** is a bar whose open, high, low or close is more than
  ``outlier_factor`` (default ``OUTLIER_FACTOR`` = 10) times, or less than 1 /
  ``outlier_factor`` of, the median close of the ``OUTLIER_WINDOW`` (11) bars centred on
  it (fewer at the ends of the series). The bar's own close is in the window, but one bad
  bar cannot move a median of 11. A ratio test and not a z-score: crypto prices span
  orders of magnitude, and a ratio means the same at 0.07 USD (Bitcoin in 2010) and 60,000.
  The factor is deliberately wide: real first days of trading reach 4x (Ethereum's first
  bar opened at 3.9 times the next days' closes), so a narrower rule would flag true bars.
* A **zero-volume run** is a stretch of consecutive bars whose volume is exactly 0 (a
  file without a volume column is one run over every bar: the loader set volume to 0).

Counts cover everything found; the lists keep at most ``MAX_LISTED`` items each: the
longest gaps and zero-volume runs, the first outliers, each list in time order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ssots.errors import DataError, ParameterError
from ssots.spec import MAX_GAP_SPACINGS

GAP_MULTIPLE = 3.0
"""A step longer than this many median bar spacings is reported as a gap."""
OUTLIER_FACTOR = 10.0
"""A price more than this factor above (or below 1 / factor of) its window's median close
is an outlier."""
OUTLIER_WINDOW = 11
"""Bars of the centred window whose median close an outlier is judged against."""
MAX_LISTED = 20
"""Most gaps, outliers and zero-volume runs listed in a report (counts cover all)."""

_PRICES = ("open", "high", "low", "close")
_SHOWN_RUNS = 5


@dataclass(frozen=True)
class Gap:
    """A hole between two bars: ``after`` is the last bar before it, ``before`` the first
    bar after it; ``spacings`` the step in median bar spacings."""

    after: pd.Timestamp
    before: pd.Timestamp
    spacings: float

    @property
    def missing_bars(self) -> int:
        """Bars a regular series would have had inside the hole."""
        return max(round(self.spacings) - 1, 1)

    def describe(self) -> str:
        """``2019-03-01 .. 2019-12-27 (300 missing bars, 301x the spacing)``."""
        return (
            f"{_when(self.after)} .. {_when(self.before)} ({self.missing_bars:,} missing "
            f"bars, {self.spacings:.3g}x the spacing)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "after": self.after.isoformat(),
            "before": self.before.isoformat(),
            "spacings": self.spacings,
            "missing_bars": self.missing_bars,
        }


@dataclass(frozen=True)
class Outlier:
    """A bar with a price far from its neighbourhood: the most extreme of its four prices
    (``column``, ``value``) against the window's median close (``median``)."""

    time: pd.Timestamp
    column: str
    value: float
    median: float

    @property
    def ratio(self) -> float:
        return self.value / self.median

    def describe(self) -> str:
        return (
            f"{_when(self.time)}: {self.column} {self.value:.6g} is {self.ratio:.3g}x the "
            f"median close {self.median:.6g} around it"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time.isoformat(),
            "column": self.column,
            "value": self.value,
            "median": self.median,
            "ratio": self.ratio,
        }


@dataclass(frozen=True)
class ZeroVolumeRun:
    """Consecutive bars ``start`` .. ``end`` (inclusive) with volume 0."""

    start: pd.Timestamp
    end: pd.Timestamp
    bars: int

    def describe(self) -> str:
        if self.bars == 1:
            return f"{_when(self.start)} (1 bar)"
        return f"{_when(self.start)} .. {_when(self.end)} ({self.bars:,} bars)"

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "bars": self.bars}


@dataclass(frozen=True)
class DataQuality:
    """What the data checks found in one series (rules in the module docstring).

    Attributes:
        gap_multiple: steps longer than this many spacings count as gaps.
        outlier_factor: the outlier rule's factor.
        gap_count, outlier_count, zero_volume_run_count, zero_volume_bars: totals.
        gaps, outliers, zero_volume_runs: at most ``MAX_LISTED`` of each, in time order.
        longest_gap: the longest gap (None without gaps).
    """

    gap_multiple: float
    outlier_factor: float
    gap_count: int
    outlier_count: int
    zero_volume_run_count: int
    zero_volume_bars: int
    gaps: tuple[Gap, ...]
    outliers: tuple[Outlier, ...]
    zero_volume_runs: tuple[ZeroVolumeRun, ...]
    longest_gap: Gap | None

    @property
    def blocks_training(self) -> bool:
        """Whether training refuses the series without ``allow_gaps``."""
        return self.longest_gap is not None and self.longest_gap.spacings > MAX_GAP_SPACINGS

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the rules, the totals and the listed items."""
        return {
            "gap_multiple": self.gap_multiple,
            "max_training_gap": MAX_GAP_SPACINGS,
            "gap_count": self.gap_count,
            "longest_gap": self.longest_gap.to_dict() if self.longest_gap else None,
            "gaps_block_training": self.blocks_training,
            "gaps": [gap.to_dict() for gap in self.gaps],
            "outlier_rule": outlier_rule(self.outlier_factor),
            "outlier_count": self.outlier_count,
            "outliers": [outlier.to_dict() for outlier in self.outliers],
            "zero_volume_run_count": self.zero_volume_run_count,
            "zero_volume_bars": self.zero_volume_bars,
            "zero_volume_runs": [run.to_dict() for run in self.zero_volume_runs],
        }

    def summary_lines(self) -> list[tuple[str, str]]:
        """(label, value) rows for ``ssots data inspect``."""
        lines = [("gaps", self._gap_summary())]
        lines += [("gap", gap.describe()) for gap in self.gaps]
        lines.append(
            ("outliers", f"{self.outlier_count:,} ({outlier_rule(self.outlier_factor)})")
        )
        lines += [("outlier", outlier.describe()) for outlier in self.outliers]
        lines.append(
            (
                "zero volume",
                f"{self.zero_volume_bars:,} bars in {self.zero_volume_run_count:,} run(s)",
            )
        )
        longest = sorted(self.zero_volume_runs, key=lambda run: run.bars, reverse=True)
        lines += [("zero-volume run", run.describe()) for run in longest[:_SHOWN_RUNS]]
        if self.zero_volume_run_count > _SHOWN_RUNS:
            lines.append(("", f"(the {_SHOWN_RUNS} longest runs shown)"))
        return lines

    def _gap_summary(self) -> str:
        rule = f"steps over {self.gap_multiple:g}x the median spacing"
        if not self.gap_count:
            return f"none ({rule})"
        text = f"{self.gap_count:,} ({rule})"
        if self.blocks_training:
            text += (
                f"; training refuses gaps over {MAX_GAP_SPACINGS:g}x unless --allow-gaps "
                "(API: allowGaps) is set"
            )
        return text


def outlier_rule(factor: float = OUTLIER_FACTOR) -> str:
    """The outlier rule in words, for reports."""
    return (
        f"open/high/low/close over {factor:g}x or under 1/{factor:g} of the median close of "
        f"the {OUTLIER_WINDOW} bars centred on the bar"
    )


def assess(
    frame: pd.DataFrame,
    *,
    gap_multiple: float = GAP_MULTIPLE,
    outlier_factor: float = OUTLIER_FACTOR,
) -> DataQuality:
    """Run the data checks on a canonical frame (at least two bars).

    Raises:
        ParameterError: ``gap_multiple`` or ``outlier_factor`` not above 1.
    """
    if not (gap_multiple > 1.0 and outlier_factor > 1.0):
        raise ParameterError(
            "the gap multiple and the outlier factor must be above 1; got "
            f"{gap_multiple!r} and {outlier_factor!r}"
        )
    gaps = find_gaps(frame.index, gap_multiple)
    outliers = _outliers(frame, outlier_factor)
    runs = _zero_volume_runs(frame)
    return DataQuality(
        gap_multiple=float(gap_multiple),
        outlier_factor=float(outlier_factor),
        gap_count=len(gaps),
        outlier_count=len(outliers),
        zero_volume_run_count=len(runs),
        zero_volume_bars=sum(run.bars for run in runs),
        gaps=_longest(gaps, key=lambda gap: gap.spacings),
        outliers=tuple(outliers[:MAX_LISTED]),
        zero_volume_runs=_longest(runs, key=lambda run: run.bars),
        longest_gap=max(gaps, key=lambda gap: gap.spacings, default=None),
    )


def find_gaps(index: pd.DatetimeIndex, multiple: float = GAP_MULTIPLE) -> list[Gap]:
    """Every step of ``index`` longer than ``multiple`` median spacings, in time order."""
    steps = np.diff(index.asi8)
    if steps.size == 0:
        return []
    spacing = float(np.median(steps))
    ratio = steps / spacing
    found = np.flatnonzero(ratio > multiple)
    return [Gap(index[i], index[i + 1], float(ratio[i])) for i in found]


def check_gaps(index: pd.DatetimeIndex, source: str = "the dataset") -> None:
    """Refuse a series with a gap longer than ``MAX_GAP_SPACINGS`` median spacings.

    Raises:
        DataError: naming the longest such gap (its dates) and how many there are.
    """
    long = find_gaps(index, MAX_GAP_SPACINGS)
    if not long:
        return
    worst = max(long, key=lambda gap: gap.spacings)
    others = f" and {len(long) - 1:,} more" if len(long) > 1 else ""
    raise DataError(
        f"{source} has a gap in its bars from {worst.describe()}{others}, longer than the "
        f"{MAX_GAP_SPACINGS:g} spacings training accepts: indicators and labels would run "
        "across it. Train on the part before or after it, or pass --allow-gaps (API: "
        "allowGaps) to train across it anyway"
    )


def _outliers(frame: pd.DataFrame, factor: float) -> list[Outlier]:
    median = (
        frame["close"].rolling(OUTLIER_WINDOW, center=True, min_periods=1).median().to_numpy()
    )
    prices = frame[list(_PRICES)].to_numpy()
    distance = np.abs(np.log(prices / median[:, None]))
    worst = distance.argmax(axis=1)
    rows = np.flatnonzero(distance[np.arange(len(frame)), worst] > np.log(factor))
    return [
        Outlier(frame.index[i], _PRICES[worst[i]], float(prices[i, worst[i]]), float(median[i]))
        for i in rows
    ]


def _zero_volume_runs(frame: pd.DataFrame) -> list[ZeroVolumeRun]:
    zero = np.concatenate(([False], frame["volume"].to_numpy() == 0.0, [False]))
    edges = np.flatnonzero(np.diff(zero.astype(np.int8)))
    starts, stops = edges[::2], edges[1::2]
    return [
        ZeroVolumeRun(frame.index[start], frame.index[stop - 1], int(stop - start))
        for start, stop in zip(starts, stops, strict=True)
    ]


def _longest(items: list[Any], key: Any) -> tuple[Any, ...]:
    """The ``MAX_LISTED`` largest items by ``key``, back in their original (time) order."""
    if len(items) <= MAX_LISTED:
        return tuple(items)
    keep = sorted(range(len(items)), key=lambda i: key(items[i]), reverse=True)[:MAX_LISTED]
    return tuple(items[i] for i in sorted(keep))


def _when(moment: pd.Timestamp) -> str:
    """``2024-01-31`` for a midnight bar, else ``2024-01-31 13:00``."""
    text = moment.isoformat()[:16].replace("T", " ")
    return text.removesuffix(" 00:00")
