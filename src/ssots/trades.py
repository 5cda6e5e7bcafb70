"""The trader's view of a backtest: the strategy's calls as a trade list (which of them
the Q-filter took and which it skipped) and the series the dashboard charts beside it
(price, Q-score, drawdown per book).

The trade list (``trade_list``) is read from a ``BacktestResult``, so it is the books'
own account of the block (``ssots.backtest``'s docstring states the accounting):

* A **call** is a run of bars over which the strategy holds one direction d_t (the last
  bar is flat, as in every book); ``call`` numbers them from 1.
* The Q-filter decides bar by bar (raw Q_t >= threshold), so a call can be taken over
  part of its bars and skipped over the rest. A **trade** (one row) is a stretch of one
  call over which the filter's decision does not change: the call's first entry, every
  bar where the decision flips, and the call's end delimit them. ``filter`` says what the
  Q-filtered book did over it: ``taken`` (it held the position), ``skipped`` (Q below the
  threshold: it stayed flat) or ``ruined`` (Q at or above it, but that book had been
  ruined and trades no more).
* Entry at the close of the entry bar, exit at the close of the exit bar (the bar where
  the call or the filter's decision changes, or the block's last bar); ``bars`` = exit bar
  minus entry bar. ``return`` is the trade's net return with the books' fee model:
  commission and slippage on entry and on exit, from ``backtest.trade_growth``, the formula
  the books use; at least -1. For a skipped trade it is what the filter avoided.

So the ``taken`` rows are exactly the Q-filtered book's trades (same bars, bit-identical
returns, compounding to its final equity), and ``taken`` + ``skipped`` + ``ruined`` rows
cover every bar of every call once. One function builds the list; the CLI
(``ssots backtest --trades``), the API (``/api/jobs/{id}/trades``) and the dashboard
read it, and ``to_csv`` is the one CSV rendering the CLI and API both write.
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ssots.backtest import BacktestResult, trade_growth
from ssots.errors import ParameterError
from ssots.spec import BOOKS

TRADE_COLUMNS: tuple[str, ...] = (
    "call",
    "side",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "bars",
    "return",
    "q_entry",
    "filter",
)
"""The trade list's columns, in order (docs/model.md, section 8, describes each)."""

FILTER_STATES: tuple[str, ...] = ("taken", "skipped", "ruined")
"""What the Q-filtered book did over a trade."""

SIDES = {1: "long", -1: "short"}
"""How a trade's side is written."""

MAX_MARKED_TRADES = 5_000
"""Most trades the dashboard's price chart marks (the first ones in time); the trade list
itself is paged from the API and never cut."""
DEFAULT_SERIES_POINTS = 2_000
"""Most points per chart series the API sends by default (``series``)."""
MAX_SERIES_POINTS = 20_000
"""Most points per chart series the API sends when asked."""

_TAKEN, _SKIPPED, _RUINED = range(3)


@dataclass(frozen=True)
class TradeList:
    """The trades of one backtest (see the module docstring); arrays of one value per
    trade, oldest first.

    Attributes:
        times: the bar times of the backtested block.
        close: the close of each bar of the block.
        entry: the entry bar of each trade (row in the block).
        exit: its exit bar.
        side: +1 long, -1 short.
        call: number of the strategy's call it belongs to, from 1.
        returns: net return with fees.
        q_entry: the raw Q at the entry bar.
        filter: index into ``FILTER_STATES``.
    """

    times: pd.DatetimeIndex
    close: np.ndarray
    entry: np.ndarray
    exit: np.ndarray
    side: np.ndarray
    call: np.ndarray
    returns: np.ndarray
    q_entry: np.ndarray
    filter: np.ndarray

    def __len__(self) -> int:
        return len(self.entry)

    def states(self) -> np.ndarray:
        """The ``filter`` column as text."""
        return np.asarray(FILTER_STATES, dtype=object)[self.filter]

    def counts(self) -> dict[str, int]:
        """How many calls there are and how many trades the filter took, skipped, or
        could not take because its book was ruined."""
        calls = len(np.unique(self.call))
        counted = np.bincount(self.filter, minlength=len(FILTER_STATES))
        return {"calls": calls, **dict(zip(FILTER_STATES, counted.tolist(), strict=True))}

    def order(self, column: str, descending: bool = False) -> np.ndarray:
        """The rows sorted by ``column`` (a ``TRADE_COLUMNS`` name; times by bar, text
        alphabetically), ties in time order, either way.

        Raises:
            ParameterError: not a column.
        """
        keys = {
            "call": self.call,
            "side": self.side,  # -1 short, +1 long: "long" < "short" alphabetically
            "entry_time": self.entry,
            "entry_price": self.close[self.entry],
            "exit_time": self.exit,
            "exit_price": self.close[self.exit],
            "bars": self.exit - self.entry,
            "return": self.returns,
            "q_entry": self.q_entry,
            "filter": np.argsort(np.argsort(FILTER_STATES))[self.filter],  # alphabetical rank
        }
        if column not in keys:
            raise ParameterError(
                f"cannot sort trades by {column!r}; sort by one of {', '.join(TRADE_COLUMNS)}"
            )
        key = np.asarray(keys[column], dtype=np.float64)
        if column == "side":
            key = -key
        return np.argsort(-key if descending else key, kind="stable")

    def subset(self, rows: np.ndarray) -> TradeList:
        """The trades at ``rows`` (positions in this list), in that order."""
        return replace(
            self,
            entry=self.entry[rows],
            exit=self.exit[rows],
            side=self.side[rows],
            call=self.call[rows],
            returns=self.returns[rows],
            q_entry=self.q_entry[rows],
            filter=self.filter[rows],
        )

    def columns(self) -> dict[str, list[Any]]:
        """Each of ``TRADE_COLUMNS`` as a list of JSON-ready values (ISO times, floats)."""
        return {
            "call": self.call.tolist(),
            "side": [SIDES[side] for side in self.side.tolist()],
            "entry_time": iso_times(self.times[self.entry]),
            "entry_price": self.close[self.entry].tolist(),
            "exit_time": iso_times(self.times[self.exit]),
            "exit_price": self.close[self.exit].tolist(),
            "bars": (self.exit - self.entry).tolist(),
            "return": self.returns.tolist(),
            "q_entry": self.q_entry.tolist(),
            "filter": self.states().tolist(),
        }

    def records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per trade, keyed by ``TRADE_COLUMNS``."""
        rows = zip(*self.columns().values(), strict=True)
        return [dict(zip(TRADE_COLUMNS, row, strict=True)) for row in rows]

    def frame(self) -> pd.DataFrame:
        """The trade list as a DataFrame with ``TRADE_COLUMNS`` (times as timestamps)."""
        columns = self.columns()
        frame = pd.DataFrame(columns, columns=list(TRADE_COLUMNS))
        for name in ("entry_time", "exit_time"):
            frame[name] = pd.to_datetime(frame[name], utc=True)
        return frame

    def to_csv(self) -> str:
        """The trade list as CSV: a header of ``TRADE_COLUMNS``, one line per trade, ``\\n``
        line ends, ISO 8601 times, numbers as Python writes them (shortest round trip)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(TRADE_COLUMNS)
        writer.writerows(zip(*self.columns().values(), strict=True))
        return out.getvalue()


def iso_times(times: pd.DatetimeIndex) -> list[str]:
    """``[t.isoformat() for t in times]``, vectorised for UTC times on whole seconds (a
    long block's trade list has hundreds of thousands); other times one by one."""
    if str(times.tz) != "UTC":
        return [t.isoformat() for t in times]
    nanos = times.as_unit("ns").asi8
    text = np.datetime_as_string(nanos.astype("datetime64[ns]"), unit="s").astype(object)
    text = text + "+00:00"
    for row in np.flatnonzero(nanos % 1_000_000_000):
        text[row] = times[row].isoformat()
    return text.tolist()


def trade_list(result: BacktestResult) -> TradeList:
    """The strategy's calls in ``result``'s block as trades, each taken, skipped or (its
    book ruined) not taken by the Q-filter (module docstring).

    Raises:
        ParameterError: ``result`` was built without its series (close, direction, q).
    """
    if result.close is None or result.direction is None or result.q is None:
        raise ParameterError(
            "this backtest carries no prices, calls and Q-scores; build it with "
            "`ssots.backtest.backtest` to list its trades"
        )
    close, direction, q = result.close, result.direction, result.q
    bars = len(close) - 1  # the last bar is flat in every book: no trade starts there
    side = direction[:bars]
    taken = result.books["q_filtered"].positions[:bars] != 0.0
    state = np.where(taken, _TAKEN, np.where(q[:bars] >= result.threshold, _RUINED, _SKIPPED))
    turns = np.diff(side, prepend=np.nan) != 0
    starts = np.flatnonzero(turns | (np.diff(state, prepend=-1) != 0))
    exits = np.append(starts[1:], bars)
    call_of_bar = np.cumsum(turns & (side != 0))
    trading = side[starts] != 0
    starts, exits = starts[trading], exits[trading]
    sides = side[starts]
    growth = trade_growth(sides, close[exits] / close[starts], result.cost)
    return TradeList(
        times=result.times,
        close=close,
        entry=starts,
        exit=exits,
        side=sides.astype(np.int64),
        call=call_of_bar[starts],
        returns=np.maximum(growth - 1.0, -1.0),
        q_entry=q[starts],
        filter=state[starts],
    )


def drawdowns(result: BacktestResult) -> dict[str, np.ndarray]:
    """Per book, the drawdown at each bar's close: equity over its running peak (the
    start of 1 included) minus 1, at most 0."""
    curves = {}
    for name in BOOKS:
        equity = result.books[name].equity
        peak = np.maximum.accumulate(np.concatenate(([1.0], equity)))[1:]
        curves[name] = equity / peak - 1.0
    return curves


def envelope_rows(series: list[np.ndarray], max_points: int) -> np.ndarray:
    """Rows to draw ``series`` (equal lengths) with at most about ``max_points`` points
    each: every row when they fit, else the first and last row and, in each of
    ``max_points // 4`` equal buckets, the rows of every series' minimum and maximum (so
    no peak, trough or drawdown disappears from the chart)."""
    if max_points < 4:
        raise ParameterError(f"a chart needs at least 4 points, got max_points {max_points}")
    length = len(series[0])
    if length <= max_points:
        return np.arange(length)
    buckets = max(1, max_points // (2 * len(series)))
    bounds = np.linspace(0, length, buckets + 1).round().astype(int)
    rows = {0, length - 1}
    for start, stop in itertools.pairwise(bounds):
        for values in series:
            chunk = values[start:stop]
            rows.update((start + int(np.argmin(chunk)), start + int(np.argmax(chunk))))
    return np.array(sorted(rows))


def chart_series(result: BacktestResult, max_points: int = DEFAULT_SERIES_POINTS) -> dict[str, Any]:
    """JSON-ready series for the trader's charts of ``result``'s block: ``price`` (times,
    close, raw Q) and ``drawdown`` (times and one curve per book), each on at most about
    ``max_points`` rows chosen by ``envelope_rows``; ``total_points`` is the block's bars.

    Raises:
        ParameterError: ``result`` has no series, or ``max_points`` is below 4.
    """
    if result.close is None or result.q is None:
        raise ParameterError("this backtest carries no prices and Q-scores to chart")
    price_rows = envelope_rows([result.close, result.q], max_points)
    curves = drawdowns(result)
    drawdown_rows = envelope_rows(list(curves.values()), max_points)
    return {
        "total_points": len(result.times),
        "price": {
            "times": iso_times(result.times[price_rows]),
            "close": result.close[price_rows].tolist(),
            "q": result.q[price_rows].tolist(),
        },
        "drawdown": {
            "times": iso_times(result.times[drawdown_rows]),
            **{name: curve[drawdown_rows].tolist() for name, curve in curves.items()},
        },
    }
