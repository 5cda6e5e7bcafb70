"""Trading evaluation of a Q-score model (MODEL.md section 7): the strategy, the Q-filtered
strategy and buy and hold, simulated on one block of bars without look-ahead.

Book accounting (the same as backtesting.py with ``trade_on_close=True``):

* The position p_t in {-1, 0, +1} is decided at the close of bar t and filled at that
  close, so it earns bar t+1's price change; nothing at bar t reads a later price.
* A trade is a run of bars with the same non-zero position. On entry the book buys (or
  sells short) u = s * E / (P_entry * (1 + c)) units, so units plus the entry commission
  cost exactly its equity E; between position changes it holds those units (P&L =
  u * price change, no rebalancing); on exit it pays c again on the exit value. c is the
  fee plus the slippage, as fractions of traded value. A change from +1 to -1 is an exit
  and an entry (both pay c).
* The book is flat at the last bar: an open trade is closed at the last close (as
  backtesting.py's ``finalize_trades=True``), so every trade's fees are counted.
* Equity starts at 1 just before the first bar's close.
* Ruin: at each bar's close, before that close's trade, the book marks its equity with the
  position it held into the bar. At the first close where that mark is at or below the
  floor F (``ruin_floor`` times the starting equity; default 0), the book is ruined: it
  closes its position at that close (paying c) and holds no position on any later bar, so
  no trade starts after ruin. Its equity from that bar on is what the close left, but
  never below 0 (a short that more than doubles loses more than the book holds; that
  loss is not counted): at or below F, not lifted to F, because a price can jump past a
  floor between two closes. The book records the ruin bar (``Book.ruined_at``); a
  ruined trade's return is at least -1. Like backtesting.py, which closes every trade
  and stops once equity reaches 0, so a book that never touches the floor is unchanged.

Metrics (``book_metrics``): returns are bar-to-bar equity changes. CAGR is reported only
when the bars span at least ``MIN_CAGR_DAYS`` (30) calendar days, else None: compounding
a few hours' or days' return to a year turns noise into absurd rates (+1% in a day is
+3,678% a year).

Equity is linear in the price within a trade and multiplies by each trade's gross
factor across trades, so the simulation is a cumulative product over trades plus one
gather per bar: no Python loop over bars. A ruined book is simulated twice, the second
time with its positions cleared from the ruin bar on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ssots import spec
from ssots.errors import ParameterError
from ssots.spec import DEFAULT_FEE_BP, DEFAULT_RUIN_FLOOR

BOOK_METRICS: tuple[str, ...] = tuple(spec.BOOK_METRICS)
"""Metric keys of every book (``spec.BOOK_METRICS``); a metric that is undefined for a
book is None."""

MAX_CURVE_POINTS = 500
"""Most equity points per book kept in a weights document."""

MIN_CAGR_DAYS = 30
"""Shortest calendar span (days) whose return is annualised into a CAGR."""

_YEAR = pd.Timedelta(days=365)


@dataclass(frozen=True)
class Book:
    """One simulated book.

    Attributes:
        positions: the positions actually held per bar (the last bar and every bar from
            the ruin bar on forced flat).
        equity: equity at each bar's close after that close's trades; starts from 1.
        trade_returns: each trade's net return on the equity it started with, fees
            included (at least -1).
        ruined_at: the bar (row) at whose close the book was ruined, else None.
    """

    positions: np.ndarray
    equity: np.ndarray
    trade_returns: np.ndarray
    ruined_at: int | None = None


def simulate(
    close: np.ndarray,
    positions: np.ndarray,
    cost: float,
    ruin_floor: float = DEFAULT_RUIN_FLOOR,
) -> Book:
    """Simulate a book holding ``positions`` (see the module docstring for the accounting).

    Args:
        close: close prices of the bars, oldest first, all positive.
        positions: the position decided at each bar's close: -1, 0 or +1.
        cost: commission plus slippage as a fraction of traded value (0.001 = 10 bp).
        ruin_floor: the book stops trading once its equity is at or below this fraction
            of its starting equity, in [0, 1).

    Returns:
        The ``Book``.

    Raises:
        ParameterError: mismatched lengths, fewer than two bars, a price that is not
            positive, a position outside {-1, 0, +1}, a negative cost or a floor outside
            [0, 1).
    """
    close, held = _checked_inputs(close, positions, cost, ruin_floor)
    equity, mark, growth, side = _unstopped(close, held, cost)
    below = np.flatnonzero(mark <= ruin_floor)
    if below.size == 0:
        return Book(positions=held, equity=equity, trade_returns=growth[side != 0] - 1.0)
    ruin = int(below[0])
    held[ruin:] = 0.0
    equity, _, growth, side = _unstopped(close, held, cost)
    equity[ruin:] = max(equity[ruin], 0.0)
    trade_returns = np.maximum(growth[side != 0] - 1.0, -1.0)
    return Book(positions=held, equity=equity, trade_returns=trade_returns, ruined_at=ruin)


def _unstopped(
    close: np.ndarray, held: np.ndarray, cost: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The book without ruin: equity per bar after its close's trade, the mark of each
    bar's close before its trade (the position held into the bar), each run's gross
    growth factor and each run's side (a run is a stretch of one position, flat or not)."""
    changed = np.diff(held, prepend=np.nan) != 0
    starts = np.flatnonzero(changed)
    run_of_bar = np.cumsum(changed) - 1
    side = held[starts]
    entry = close[starts]
    exits = np.append(starts[1:], len(held) - 1)
    growth = trade_growth(side, close[exits] / entry, cost)
    entry_equity = np.concatenate(([1.0], np.cumprod(growth)[:-1]))
    equity = entry_equity[run_of_bar] * _marked(side[run_of_bar], close / entry[run_of_bar], cost)
    held_into = np.maximum(run_of_bar - changed, 0)  # the run each bar's close starts in
    mark = entry_equity[held_into] * _marked(side[held_into], close / entry[held_into], cost)
    mark[0] = 1.0
    return equity, mark, growth, side


def trade_growth(side: np.ndarray, exit_ratio: np.ndarray, cost: float) -> np.ndarray:
    """Gross growth factor of trades (equity after the exit over equity before the entry,
    both commissions paid) from their side (+1, -1; 0 for a flat run: 1) and ``exit_ratio``
    = exit price / entry price: the one formula of a trade's result, which the books and
    the trade list (``ssots.trades``) share."""
    exit_fee = np.abs(side) * cost * exit_ratio / (1.0 + cost)
    return _marked(side, exit_ratio, cost) - exit_fee


def _marked(side: np.ndarray, price_ratio: np.ndarray, cost: float) -> np.ndarray:
    """Equity of a trade relative to its entry equity, marked at ``price_ratio`` = price /
    entry price, after the entry commission and before the exit commission."""
    return 1.0 + (side * (price_ratio - 1.0) - np.abs(side) * cost) / (1.0 + cost)


def equity_paths(
    close: np.ndarray,
    positions: np.ndarray,
    cost: float,
    ruin_floor: float = DEFAULT_RUIN_FLOOR,
) -> np.ndarray:
    """The equity of many books on the same bars at once: row i is ``simulate(close,
    positions[i], cost, ruin_floor).equity`` (same accounting, the last bar forced flat),
    computed for all rows together; a row whose equity touches the floor is simulated
    again with ``simulate`` (a mark at or below the floor implies equity there too).

    Args:
        close: close prices of the n bars, all positive.
        positions: shape (k, n), each entry -1, 0 or +1.
        cost: commission plus slippage as a fraction of traded value.
        ruin_floor: as ``simulate``.

    Returns:
        Equity, shape (k, n).
    """
    close = np.asarray(close, dtype=np.float64)
    held = np.array(positions, dtype=np.float64, ndmin=2)
    held[:, -1] = 0.0
    n = close.size
    changed = np.ones(held.shape, dtype=bool)
    changed[:, 1:] = held[:, 1:] != held[:, :-1]
    bar = np.arange(n)
    began = np.maximum.accumulate(np.where(changed, bar, 0), axis=1)
    entry = close[began]
    # the growth of the run that ends where the next one begins (1 elsewhere)
    before = np.zeros(held.shape)
    before[:, 1:] = held[:, :-1]
    entry_before = np.ones(held.shape)
    entry_before[:, 1:] = entry[:, :-1]
    ratio = close / entry_before
    ended = _marked(before, ratio, cost) - np.abs(before) * cost * ratio / (1.0 + cost)
    growth = np.where(changed, ended, 1.0)
    growth[:, 0] = 1.0
    equity = np.cumprod(growth, axis=1) * _marked(held, close / entry, cost)
    for row in np.flatnonzero(equity.min(axis=1) <= ruin_floor):
        equity[row] = simulate(close, held[row], cost, ruin_floor).equity
    return equity


def bar_returns(equity: np.ndarray) -> np.ndarray:
    """Bar-to-bar returns of equity (the first one from the starting 1; 0 after a
    ruined book's equity reached 0), along the last axis: what ``book_metrics``'s
    Sharpe and Sortino are computed from."""
    equity = np.asarray(equity, dtype=np.float64)
    previous = np.concatenate((np.ones((*equity.shape[:-1], 1)), equity[..., :-1]), axis=-1)
    return np.divide(equity, previous, out=np.ones_like(equity), where=previous > 0) - 1.0


def _checked_inputs(
    close: np.ndarray, positions: np.ndarray, cost: float, ruin_floor: float
) -> tuple[np.ndarray, np.ndarray]:
    close = np.asarray(close, dtype=np.float64)
    held = np.array(positions, dtype=np.float64)
    if close.ndim != 1 or close.shape != held.shape or close.size < 2:
        raise ParameterError(
            f"a backtest needs at least 2 bars with one position each; got {close.size} "
            f"prices and {held.size} positions"
        )
    if not np.all(close > 0.0):
        raise ParameterError("backtest prices must be positive numbers without NaN")
    if not np.all(np.isin(held, (-1.0, 0.0, 1.0))):
        raise ParameterError("backtest positions must be -1 (short), 0 (flat) or +1 (long)")
    if not cost >= 0.0:
        raise ParameterError(f"the fee and slippage must not be negative, got cost {cost}")
    if not 0.0 <= ruin_floor < 1.0:
        raise ParameterError(
            f"the ruin floor is a fraction of the starting equity in [0, 1), got {ruin_floor}"
        )
    held[-1] = 0.0
    return close, held


def periods_per_year(times: pd.DatetimeIndex) -> float:
    """Bars per 365-day year from the median spacing of ``times`` (crypto trades daily).

    Raises:
        ParameterError: fewer than two times, or a median spacing that is not positive.
    """
    if len(times) < 2:
        raise ParameterError("annualising needs at least two bar times")
    spacing = pd.Series(times).diff().iloc[1:].median()
    if not spacing > pd.Timedelta(0):
        raise ParameterError(f"bar times must increase; median spacing is {spacing}")
    return float(_YEAR / spacing)


def book_metrics(book: Book, times: pd.DatetimeIndex) -> dict[str, float | int | None]:
    """Total return, CAGR, annualised Sharpe and Sortino, max drawdown (<= 0), win rate,
    number of trades and exposure of ``book`` over the bars at ``times``.

    Returns are the bar-to-bar changes of equity (the first one from the starting 1).
    Sharpe is mean / sample std, Sortino mean / root-mean-square of the negative returns,
    both times sqrt(periods per year), no risk-free rate. CAGR uses the calendar span of
    ``times`` and is None when that span is under ``MIN_CAGR_DAYS`` days. Win rate is the
    share of trades with a positive net return; exposure the share of bar-to-bar intervals
    with a position. A metric without a value (Sharpe of a book that never moves, win rate
    without trades, CAGR of a short span) is None. A ruined book's trades end at its ruin
    bar (``simulate``)."""
    equity = book.equity
    returns = bar_returns(equity)
    scale = math.sqrt(periods_per_year(times))
    peak = np.maximum.accumulate(np.concatenate(([1.0], equity)))[1:]
    trades = book.trade_returns
    return {
        "total_return": float(equity[-1] - 1.0),
        "cagr": _cagr(float(equity[-1]), times[-1] - times[0]),
        "sharpe": _ratio(returns.mean(), returns.std(ddof=1), scale),
        "sortino": _ratio(returns.mean(), math.sqrt(np.mean(np.minimum(returns, 0.0) ** 2)), scale),
        "max_drawdown": float(np.min(equity / peak - 1.0)),
        "win_rate": float(np.mean(trades > 0.0)) if trades.size else None,
        "trades": int(trades.size),
        "exposure": float(np.mean(book.positions[:-1] != 0.0)),
    }


def _ratio(mean: float, spread: float, scale: float) -> float | None:
    return float(mean / spread * scale) if spread > 0.0 else None


def _cagr(growth: float, span: pd.Timedelta) -> float | None:
    if span < pd.Timedelta(days=MIN_CAGR_DAYS):
        return None
    if growth <= 0.0:
        return -1.0
    try:
        return math.expm1(math.log(growth) / (span / _YEAR))
    except OverflowError:
        return None


def q_filtered(direction: np.ndarray, q: np.ndarray, threshold: float) -> np.ndarray:
    """The strategy's direction where the predicted Q is at least ``threshold``, else flat."""
    return np.where(np.asarray(q) >= threshold, np.asarray(direction, dtype=np.float64), 0.0)


@dataclass(frozen=True)
class BacktestResult:
    """The three books of one backtest with their settings and metrics, and the series
    they were simulated from (``close``, the strategy's ``direction``, the raw ``q`` the
    filter thresholds; None when built by hand without them), from which
    ``ssots.trades.trade_list`` lists the strategy's calls."""

    times: pd.DatetimeIndex
    threshold: float
    fee_bp: float
    slippage_bp: float
    books: dict[str, Book]
    metrics: dict[str, dict[str, float | int | None]]
    ruin_floor: float = DEFAULT_RUIN_FLOOR
    close: np.ndarray | None = None
    direction: np.ndarray | None = None
    q: np.ndarray | None = None

    @property
    def cost(self) -> float:
        """Fee plus slippage per unit of position change, as a fraction of traded value."""
        return (self.fee_bp + self.slippage_bp) / 10_000.0

    def ruined(self) -> dict[str, dict[str, Any] | None]:
        """Per book: None, or where it was ruined: ``{"bar": row, "time": ISO time}``."""
        return {
            name: None
            if book.ruined_at is None
            else {"bar": book.ruined_at, "time": self.times[book.ruined_at].isoformat()}
            for name, book in self.books.items()
        }

    def to_dict(self, max_points: int | None = MAX_CURVE_POINTS) -> dict[str, Any]:
        """JSON-ready settings, metrics per book, ``ruined`` per book (``ruined()``) and,
        unless ``max_points`` is None, the equity curves sampled at <= ``max_points``
        common bars (first and last included) with ISO timestamps."""
        document: dict[str, Any] = {
            "threshold": self.threshold,
            "fee_bp": self.fee_bp,
            "slippage_bp": self.slippage_bp,
            "ruin_floor": self.ruin_floor,
            "bars": len(self.times),
            "start": self.times[0].isoformat(),
            "end": self.times[-1].isoformat(),
            "periods_per_year": periods_per_year(self.times),
            "min_cagr_days": MIN_CAGR_DAYS,
            "metrics": self.metrics,
            "ruined": self.ruined(),
        }
        if max_points is not None:
            document["equity"] = self._curves(max_points)
        return document

    def _curves(self, max_points: int) -> dict[str, list[Any]]:
        rows = np.unique(np.linspace(0, len(self.times) - 1, max_points).round().astype(int))
        curves: dict[str, list[Any]] = {"times": [t.isoformat() for t in self.times[rows]]}
        curves.update({name: book.equity[rows].tolist() for name, book in self.books.items()})
        return curves


def backtest(
    times: pd.DatetimeIndex,
    close: np.ndarray,
    direction: np.ndarray,
    q: np.ndarray,
    threshold: float,
    *,
    fee_bp: float = DEFAULT_FEE_BP,
    slippage_bp: float = 0.0,
    ruin_floor: float = DEFAULT_RUIN_FLOOR,
) -> BacktestResult:
    """Backtest the strategy, the Q-filtered strategy and buy and hold on the same bars.

    Args:
        times: bar times, oldest first.
        close: close price per bar.
        direction: the strategy's direction d_t in {-1, +1} per bar.
        q: the model's predicted Q per bar (from features at or before that bar).
        threshold: the Q-filter trades d_t where q >= threshold, else stays flat.
        fee_bp: commission per unit of position change, basis points of traded value.
        slippage_bp: extra cost per unit of position change, basis points.
        ruin_floor: a book whose equity falls to this fraction of its start is ruined
            and stops trading (module docstring).

    Returns:
        The ``BacktestResult`` with a ``Book`` and metrics for each of ``BOOKS``.

    Raises:
        ParameterError: mismatched inputs, negative costs or bad times (as ``simulate``
            and ``periods_per_year``).
    """
    if len(times) != len(close) or len(q) != len(close):
        raise ParameterError("backtest times, prices, directions and Q-scores differ in length")
    cost = (fee_bp + slippage_bp) / 10_000.0
    positions = {
        "strategy": np.asarray(direction, dtype=np.float64),
        "q_filtered": q_filtered(direction, q, threshold),
        "buy_and_hold": np.ones(len(close)),
    }
    books = {name: simulate(close, held, cost, ruin_floor) for name, held in positions.items()}
    return BacktestResult(
        times=times,
        threshold=float(threshold),
        fee_bp=float(fee_bp),
        slippage_bp=float(slippage_bp),
        books=books,
        metrics={name: book_metrics(book, times) for name, book in books.items()},
        ruin_floor=float(ruin_floor),
        close=np.asarray(close, dtype=np.float64),
        direction=positions["strategy"],
        q=np.asarray(q, dtype=np.float64),
    )
