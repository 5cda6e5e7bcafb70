"""The trading backtest (MODEL.md section 7): hand-computed books, no look-ahead,
annualisation by bar spacing, and agreement with backtesting.py."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from conftest import REAL_DATA_DIR
from ssots import features, strategies
from ssots.artifacts import SavedModel
from ssots.backtest import (
    BOOK_METRICS,
    backtest,
    book_metrics,
    periods_per_year,
    q_filtered,
    simulate,
)
from ssots.cli import app
from ssots.cli.backtest import backtest_table
from ssots.data import demo, load
from ssots.errors import ParameterError
from ssots.pipeline import RunResult, prepare
from ssots.services.training import train_run
from ssots.spec import BOOKS, RunSpec

FEE = 0.001
CASH = 1_000_000
runner = CliRunner()
RUN = {"dataset": "demo", "epochs": 30, "demo_days": 500, "seed": 3}


@pytest.fixture(scope="module")
def trained() -> RunResult:
    return train_run(RunSpec.build(**RUN))


def _times(n: int, freq: str = "1D") -> pd.DatetimeIndex:
    return pd.date_range("2024-01-01", periods=n, freq=freq, tz="UTC")


def test_long_then_short_without_fees() -> None:
    book = simulate(np.array([100.0, 110, 121, 110, 100]), np.array([1, 1, -1, -1, 1]), 0.0)
    # Long 0.01 units from 100 to 121, then short 1.21 / 121 = 0.01 units from 121 to 100;
    # the last bar's +1 is never taken: the book is flat at the end.
    np.testing.assert_allclose(book.equity, [1.0, 1.1, 1.21, 1.32, 1.42])
    np.testing.assert_allclose(book.trade_returns, [0.21, 0.21 / 1.21])
    np.testing.assert_array_equal(book.positions, [1, 1, -1, -1, 0])


def test_units_and_commissions_by_hand() -> None:
    close = np.array([100.0, 110, 121, 110, 100])
    book = simulate(close, np.array([1, 1, -1, -1, 0]), FEE)
    long_units = 1.0 / (100 * (1 + FEE))  # units + entry commission cost all the equity
    e0 = 1.0 - long_units * 100 * FEE
    e1 = e0 + long_units * 10
    exit_long = e0 + long_units * 21 - long_units * 121 * FEE
    short_units = exit_long / (121 * (1 + FEE))
    e2 = exit_long - short_units * 121 * FEE  # the reversal pays an exit and an entry fee
    e3 = e2 + short_units * 11
    e4 = e2 + short_units * 21 - short_units * 100 * FEE
    np.testing.assert_allclose(book.equity, [e0, e1, e2, e3, e4], rtol=1e-13)
    np.testing.assert_allclose(book.trade_returns, [exit_long - 1, e4 / exit_long - 1], rtol=1e-12)


def test_a_reversal_at_a_flat_price_costs_two_round_trips() -> None:
    flat = np.full(5, 100.0)
    one_round_trip = (1 - FEE) / (1 + FEE)
    reversed_book = simulate(flat, np.array([1, 1, -1, -1, 0]), FEE)
    held_book = simulate(flat, np.array([1, 1, 1, 1, 0]), FEE)
    assert reversed_book.equity[-1] == pytest.approx(one_round_trip**2, rel=1e-14)
    assert held_book.equity[-1] == pytest.approx(one_round_trip, rel=1e-14)
    assert book_metrics(reversed_book, _times(5))["win_rate"] == 0.0


def test_flat_bars_cost_nothing_and_count_no_exposure() -> None:
    book = simulate(np.array([100.0, 100, 120, 90, 90]), np.array([0, 1, 0, 0, 0]), 0.0)
    np.testing.assert_allclose(book.equity, [1.0, 1.0, 1.2, 1.2, 1.2])
    metrics = book_metrics(book, _times(5))
    assert metrics["trades"] == 1
    assert metrics["exposure"] == pytest.approx(0.25)


def test_metrics_of_a_known_curve() -> None:
    book = simulate(np.array([100.0, 110, 99, 108.9]), np.ones(4), 0.0)
    metrics = book_metrics(book, _times(4))
    returns = np.array([0.0, 0.1, -0.1, 0.1])  # equity 1, 1.1, 0.99, 1.089
    assert metrics["total_return"] == pytest.approx(0.089)
    assert metrics["cagr"] is None  # three days are not annualised
    monthly = book_metrics(book, _times(4, "10D"))  # the same curve over 30 days
    assert monthly["cagr"] == pytest.approx(1.089 ** (365 / 30) - 1)
    assert metrics["sharpe"] == pytest.approx(0.025 / returns.std(ddof=1) * math.sqrt(365))
    assert metrics["sortino"] == pytest.approx(0.025 / 0.05 * math.sqrt(365))
    assert metrics["max_drawdown"] == pytest.approx(-0.1)
    assert (metrics["win_rate"], metrics["trades"], metrics["exposure"]) == (1.0, 1, 1.0)


def test_a_ruined_short_stays_at_zero() -> None:
    book = simulate(np.array([100.0, 100, 250, 100]), np.array([-1, -1, -1, 0]), 0.0)
    np.testing.assert_array_equal(book.equity, [1.0, 1.0, 0.0, 0.0])
    assert book.ruined_at == 2
    metrics = book_metrics(book, _times(4, "30D"))
    assert metrics["total_return"] == -1.0
    assert metrics["cagr"] == -1.0
    assert metrics["trades"] == 1
    np.testing.assert_array_equal(book.trade_returns, [-1.0])  # not -1.5: limited liability


def test_a_ruined_book_takes_no_trade_after_the_ruin_bar() -> None:
    close = np.array([100.0, 100, 250, 100, 90, 80, 120])
    wanted = np.array([-1, -1, -1, -1, 1, -1, 0])  # it would have traded three more times
    book = simulate(close, wanted, FEE)
    assert book.ruined_at == 2
    np.testing.assert_array_equal(book.positions, [-1, -1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(book.equity[2:], 0.0)
    assert book_metrics(book, _times(7))["trades"] == 1


def test_a_floor_stops_the_book_at_the_first_close_marked_at_or_below_it() -> None:
    close = np.array([100.0, 90, 60, 40, 200])
    book = simulate(close, np.array([1, 1, 1, 1, 0]), 0.0, ruin_floor=0.5)
    # Marks 1, 0.9, 0.6, then 0.4 <= 0.5: closed at 40 and kept there (not lifted to the
    # floor, and not riding the rebound to 200).
    assert book.ruined_at == 3
    np.testing.assert_allclose(book.equity, [1.0, 0.9, 0.6, 0.4, 0.4])
    np.testing.assert_allclose(book.trade_returns, [-0.6])
    with_fee = simulate(close, np.array([1, 1, 1, 1, 0]), FEE, ruin_floor=0.5)
    units = 1.0 / (100 * (1 + FEE))
    assert with_fee.equity[-1] == pytest.approx(units * 40 * (1 - FEE))  # the exit pays c
    untouched = simulate(close, np.array([1, 1, 1, 1, 0]), 0.0, ruin_floor=0.3)
    assert untouched.ruined_at is None
    np.testing.assert_allclose(untouched.equity, close / 100)


@pytest.mark.parametrize("floor", [-0.1, 1.0, float("nan")])
def test_a_ruin_floor_outside_zero_to_one_is_refused(floor: float) -> None:
    with pytest.raises(ParameterError, match="ruin floor"):
        simulate(np.array([1.0, 2.0]), np.array([1, 0]), 0.0, ruin_floor=floor)


def test_rsi_enhanced_on_yahoo_btc_is_ruined_and_stops_trading(real_data_dir: Path) -> None:
    """The case of issue 10: the strategy's equity reaches 0 at bar 176 of the 514 test
    bars; it used to go on "trading" (45 trades, a 75.6% win rate)."""
    frame = load(real_data_dir / "yahoo_BTC-USD_daily.csv")[0]
    prepared = prepare(frame, RunSpec.build(strategy="rsi-enhanced"))
    test = slice(prepared.split.test.start, prepared.split.test.stop)
    direction = prepared.direction[test]
    result = backtest(prepared.times[test], prepared.close[test], direction,
                      np.zeros(514), 0.5)
    book = result.books["strategy"]
    assert len(book.equity) == 514
    assert book.ruined_at == 176
    assert not book.positions[176:].any()
    np.testing.assert_array_equal(book.equity[176:], 0.0)
    runs = np.flatnonzero(np.diff(direction[:-1], prepend=0) != 0)  # every wanted trade
    assert len(runs) == 45
    assert result.metrics["strategy"]["trades"] == np.sum(runs < 176) == 22
    assert result.metrics["strategy"]["total_return"] == -1.0
    document = result.to_dict(max_points=None)
    assert document["ruined"]["strategy"] == {"bar": 176, "time": result.times[176].isoformat()}
    assert document["ruined"]["buy_and_hold"] is None
    shown = Console(record=True, width=200)
    shown.print(backtest_table(document, "rsi-enhanced"))
    text = shown.export_text()
    assert "RUINED" in text
    assert f"{result.times[176].date()} (bar 176)" in text


@pytest.mark.parametrize(("bars", "freq", "has_cagr"),
                         [(24 * 29, "1h", False), (24 * 30 + 1, "1h", True), (31, "1D", True)])
def test_cagr_needs_a_span_of_thirty_days(bars: int, freq: str, has_cagr: bool) -> None:
    close = 100 * np.exp(np.cumsum(np.random.default_rng(2).normal(0, 0.01, bars)))
    metrics = book_metrics(simulate(close, np.ones(bars), FEE), _times(bars, freq))
    assert (metrics["cagr"] is not None) is has_cagr


def test_a_book_that_never_trades_has_no_ratios() -> None:
    metrics = book_metrics(simulate(np.array([1.0, 2, 3]), np.zeros(3), FEE), _times(3))
    assert metrics["total_return"] == 0.0
    assert metrics["sharpe"] is None
    assert metrics["win_rate"] is None
    assert metrics["trades"] == 0


def test_a_jump_in_the_last_bar_changes_no_earlier_position_or_equity(
    trained: RunResult,
) -> None:
    saved = SavedModel(model=trained.model, normalizer=trained.normalizer,
                       strategy=trained.spec.strategy,
                       document={"backtest": {"threshold": trained.backtest.threshold}})
    frame = load(REAL_DATA_DIR / "yahoo_BTC-USD_daily.csv")[0]
    jumped = frame.copy()
    jumped.iloc[-1, jumped.columns.get_loc("close")] *= 1.5
    before = saved.backtest(frame, all_rows=True)
    after = saved.backtest(jumped, all_rows=True)
    for name, book in before.books.items():
        np.testing.assert_array_equal(book.positions[:-1], after.books[name].positions[:-1])
        np.testing.assert_array_equal(book.equity[:-1], after.books[name].equity[:-1])
    assert before.books["strategy"].equity[-1] != after.books["strategy"].equity[-1]
    assert before.metrics["q_filtered"]["trades"] > 0  # the filter does act on this data


@pytest.mark.parametrize(
    ("freq", "expected"), [("1D", 365.0), ("1h", 8760.0), ("1min", 525_600.0)]
)
def test_periods_per_year_follow_the_median_spacing(freq: str, expected: float) -> None:
    times = _times(50, freq)
    with_gap = times.delete(slice(10, 13))  # a short outage does not change the spacing
    assert periods_per_year(times) == expected
    assert periods_per_year(with_gap) == expected


def test_sharpe_scales_with_the_square_root_of_bars_per_year() -> None:
    book = simulate(np.array([100.0, 103, 101, 106, 104, 108]), np.ones(6), FEE)
    daily = book_metrics(book, _times(6, "1D"))
    hourly = book_metrics(book, _times(6, "1h"))
    assert hourly["sharpe"] == pytest.approx(daily["sharpe"] * math.sqrt(24))
    assert hourly["sortino"] == pytest.approx(daily["sortino"] * math.sqrt(24))
    assert hourly["total_return"] == daily["total_return"]


def test_the_q_filter_trades_only_at_or_above_the_threshold() -> None:
    filtered = q_filtered(np.array([1.0, -1, 1, -1]), np.array([0.2, 0.5, 0.7, 0.49]), 0.5)
    np.testing.assert_array_equal(filtered, [0, -1, 1, 0])


def test_backtest_document_is_json_with_bounded_curves() -> None:
    n = 2000
    close = 100 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 0.01, n)))
    direction = np.where(np.arange(n) % 40 < 20, 1.0, -1.0)
    result = backtest(_times(n, "1h"), close, direction, np.linspace(0, 1, n), 0.5,
                      fee_bp=5, slippage_bp=2)
    document = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    curves = document["equity"]
    assert 2 <= len(curves["times"]) <= 500
    assert curves["times"][0] == result.times[0].isoformat()
    assert curves["times"][-1] == result.times[-1].isoformat()
    for name in ("strategy", "q_filtered", "buy_and_hold"):
        assert len(curves[name]) == len(curves["times"])
        assert curves[name][-1] == result.books[name].equity[-1]
    assert document["periods_per_year"] == 8760.0
    assert (document["fee_bp"], document["slippage_bp"]) == (5.0, 2.0)
    # Slippage is charged like the fee: 7 bp in all.
    same_cost = backtest(_times(n, "1h"), close, direction, np.linspace(0, 1, n), 0.5, fee_bp=7)
    assert same_cost.metrics == result.metrics


@pytest.mark.parametrize(
    ("close", "positions", "cost"),
    [([100.0], [1], 0.0), ([100.0, 0.0], [1, 1], 0.0), ([1.0, 2], [1, 2], 0.0),
     ([1.0, 2], [1, 1], -0.1), ([1.0, 2, 3], [1, 1], 0.0)],
)
def test_bad_inputs_are_refused(close: list[float], positions: list[int], cost: float) -> None:
    with pytest.raises(ParameterError):
        simulate(np.array(close), np.array(positions), cost)


@pytest.mark.parametrize(
    "name", ["binance_klines_BTCUSDT_1h_2022-01.csv", "kaggle_coin_Bitcoin.csv"]
)
def test_momentum_cross_agrees_with_backtesting_py(name: str) -> None:
    """Same accounting, so the books agree up to FractionalBacktest's rounding: it buys
    whole satoshis (1e-8 BTC), so each entry leaves less than one satoshi's value
    (< 0.001 USD at prices under 100k) of an equity above 1e5 USD uninvested, < 1e-8 of
    equity. That changes each trade's P&L by < 1e-8 times its return; over ~50 trades the
    final equity may differ by ~1e-7 relative, so we allow 1e-6 (measured: ~1e-12).
    The trade count and the win rate must match exactly.
    """
    frame = load(REAL_DATA_DIR / name)[0]
    stats = _backtesting_py_momentum(frame)
    indicators = features.compute_indicators(frame)
    direction = strategies.direction(
        "momentum-cross", indicators, features.dimensions(frame, indicators)
    )
    # backtesting.py calls next() from the bar after the indicators' warm-up; with
    # trade_on_close its finalize_trades closes at the second-to-last close (Close[-2]).
    bars = slice(features.WARMUP_BARS + 1, len(frame) - 1)
    book = simulate(frame["close"].to_numpy()[bars], direction[bars], FEE)
    ours = book_metrics(book, frame.index[bars])
    assert stats["# Trades"] > 10
    assert ours["trades"] == stats["# Trades"]
    assert 1 + ours["total_return"] == pytest.approx(stats["Equity Final [$]"] / CASH, rel=1e-6)
    assert ours["win_rate"] == pytest.approx(stats["Win Rate [%]"] / 100, abs=1e-12)


def _backtesting_py_momentum(frame: pd.DataFrame) -> pd.Series:
    from backtesting import Strategy
    from backtesting.lib import FractionalBacktest

    last_decision = len(frame) - 3  # our book is flat from the second-to-last bar on

    class SmaCross(Strategy):
        def init(self) -> None:
            close = pd.Series(self.data.Close)
            self.fast = self.I(lambda: close.rolling(20).mean())
            self.slow = self.I(lambda: close.rolling(50).mean())

        def next(self) -> None:
            if len(self.data) - 1 > last_decision:
                return
            long = self.fast[-1] > self.slow[-1]
            if self.position and self.position.is_long == long:
                return
            self.position.close()
            if long:
                self.buy()
            else:
                self.sell()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return FractionalBacktest(
            frame.rename(columns=str.capitalize), SmaCross, cash=CASH, commission=FEE,
            trade_on_close=True, finalize_trades=True,
        ).run()


def test_a_ruined_book_agrees_with_backtesting_py(real_data_dir: Path) -> None:
    """backtesting.py closes every trade and stops once equity reaches 0: on the issue's
    Yahoo + rsi-enhanced test block both books die at the same bar with the same 22
    trades, and agree bar by bar before it (to 1e-6: FractionalBacktest trades whole
    satoshis, see the momentum test)."""
    frame = load(real_data_dir / "yahoo_BTC-USD_daily.csv")[0]
    indicators = features.compute_indicators(frame)
    direction = strategies.direction(
        "rsi-enhanced", indicators, features.dimensions(frame, indicators)
    )
    first = prepare(frame, RunSpec.build(strategy="rsi-enhanced")).split.test.start
    first += features.WARMUP_BARS
    # One bar before the block: backtesting.py first calls next() at its second bar.
    window = slice(first - 1, first + 514)
    stats = _backtesting_py_following(frame.iloc[window], direction[window])
    bars = slice(first, first + 513)
    book = simulate(frame["close"].to_numpy()[bars], direction[bars], FEE)
    theirs = stats._equity_curve["Equity"].to_numpy()[1:] / CASH
    assert book.ruined_at == 176
    assert np.flatnonzero(theirs <= 0.0)[0] == book.ruined_at
    # Its curve books a trade's commission a bar later; compare bars without a trade.
    quiet = np.diff(book.positions, prepend=np.nan)[:176] == 0
    np.testing.assert_allclose(book.equity[:176][quiet], theirs[:176][quiet], rtol=1e-6)
    assert stats["Equity Final [$]"] == 0.0 == book.equity[-1]
    assert stats["# Trades"] == book_metrics(book, frame.index[bars])["trades"] == 22


def _backtesting_py_following(frame: pd.DataFrame, direction: np.ndarray) -> pd.Series:
    """backtesting.py holding ``direction`` (long at +1, short at -1) bar by bar."""
    from backtesting import Strategy
    from backtesting.lib import FractionalBacktest

    last_decision = len(frame) - 3  # our book is flat from the second-to-last bar on

    class Follow(Strategy):
        def init(self) -> None:
            pass

        def next(self) -> None:
            bar = len(self.data) - 1
            if bar > last_decision:
                return
            long = bool(direction[bar] > 0)
            if self.position and self.position.is_long == long:
                return
            self.position.close()
            if long:
                self.buy()
            else:
                self.sell()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return FractionalBacktest(
            frame.rename(columns=str.capitalize), Follow, cash=CASH, commission=FEE,
            trade_on_close=True, finalize_trades=True,
        ).run()


def test_every_run_backtests_its_test_split(trained: RunResult) -> None:
    prepared = prepare(demo(days=RUN["demo_days"], seed=RUN["seed"]), trained.spec)
    test, train = prepared.split.test, prepared.split.train
    q_test = trained.model.predict(prepared.x[test.start:test.stop])
    threshold = np.median(trained.model.predict(prepared.x[train.start:train.stop]))
    books = trained.backtest.books
    assert trained.backtest.threshold == threshold
    assert trained.backtest.times.equals(prepared.times[test.start:test.stop])
    np.testing.assert_array_equal(books["strategy"].positions[:-1],
                                  prepared.direction[test.start:test.stop - 1])
    np.testing.assert_array_equal(
        books["q_filtered"].positions[:-1],
        np.where(q_test >= threshold, prepared.direction[test.start:test.stop], 0)[:-1],
    )


def test_spec_threshold_and_fee_reach_the_backtest() -> None:
    result = train_run(RunSpec.build(**RUN, threshold=1.0, fee_bp=0.0))
    assert result.backtest.metrics["q_filtered"]["trades"] == 0
    prepared = prepare(demo(days=RUN["demo_days"], seed=RUN["seed"]), result.spec)
    test_close = prepared.close[prepared.split.test.start:]
    held = result.backtest.books["buy_and_hold"]
    assert held.equity[-1] == pytest.approx(test_close[-1] / test_close[0])


def test_cli_train_prints_and_stores_the_backtest(tmp_path: Path) -> None:
    output = tmp_path / "w.json"
    result = runner.invoke(app, ["train", "--epochs", "20", "--fee", "5", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert "Backtest of momentum-cross" in result.output
    block = json.loads(output.read_text())["backtest"]
    assert block["fee_bp"] == 5.0
    for name in BOOKS:
        assert set(block["metrics"][name]) == set(BOOK_METRICS)
        assert len(block["equity"][name]) == len(block["equity"]["times"]) <= 500


def test_cli_backtest_a_saved_model_on_another_file(tmp_path: Path) -> None:
    weights = tmp_path / "w.json"
    assert runner.invoke(app, ["train", "--epochs", "20", "--output", str(weights)]).exit_code == 0
    data = str(REAL_DATA_DIR / "yahoo_BTC-USD_daily.csv")
    result = runner.invoke(app, ["backtest", "--weights", str(weights), "--dataset", data,
                                 "--fee", "5", "--threshold", "0.6", "--all-rows"])
    assert result.exit_code == 0, result.output
    assert "Q >= 0.6000" in result.output
    assert "fee 5 bp" in result.output
    # The demo model trained from 2021-02-19; Yahoo's bars end in 2021-11, inside it.
    train_start = pd.Timestamp(json.loads(weights.read_text())["training"]["split_dates"]
                               ["train"]["start"])
    scored = load(data)[0].index[features.WARMUP_BARS:]
    before, inside = np.sum(scored < train_start), np.sum(scored >= train_start)
    text = " ".join(result.output.split())
    assert f"before training {before:,} (traded: --all-rows); training {inside:,}" in text
    assert f"warning: --all-rows: {inside:,} of the {len(scored):,} traded bars" in text
    earlier = runner.invoke(app, ["backtest", "--weights", str(weights), "--dataset", data])
    assert earlier.exit_code == 2
    assert "after this model's training period" in earlier.output
    document = json.loads(weights.read_text())
    del document["backtest"]
    weights.write_text(json.dumps(document))
    refused = runner.invoke(app, ["backtest", "--weights", str(weights), "--dataset", data])
    assert refused.exit_code == 2
    assert "pass `--threshold`" in refused.output


def test_cli_backtest_trades_only_rows_after_the_training_period(tmp_path: Path) -> None:
    weights = tmp_path / "w.json"
    train = ["train", "--epochs", "20", "--demo-days", "500", "--output", str(weights)]
    assert runner.invoke(app, train).exit_code == 0
    dates = json.loads(weights.read_text())["training"]["split_dates"]
    assert list(dates) == ["train", "validation", "test"]
    assert dates["train"]["end"] < dates["validation"]["start"] < dates["test"]["start"]
    frame = demo(days=500)
    data = tmp_path / "same.csv"
    frame.to_csv(data)
    shown = runner.invoke(app, ["backtest", "--weights", str(weights), "--dataset", str(data)])
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    sizes = json.loads(weights.read_text())["training"]["split_sizes"]
    seen = sizes["train"] + 5  # the training rows and their 5-row purge
    assert f"training {seen:,} (not traded)" in text
    assert f"validation {sizes['validation'] + 5:,} (used for early stopping)" in text
    assert f"test {sizes['test']:,};" in text
    assert f"Backtest of momentum-cross, {dates['validation']['start'][:10]} .." in text
    assert "warning" not in text
    every = runner.invoke(
        app, ["backtest", "--weights", str(weights), "--dataset", str(data), "--all-rows"]
    )
    assert every.exit_code == 0, every.output
    text = " ".join(every.output.split())
    assert f"warning: --all-rows: {seen:,} of the" in text
    assert "training rows (in-sample)" in text
    assert f"Backtest of momentum-cross, {dates['train']['start'][:10]} .." in text


def test_a_weights_file_without_split_dates_needs_all_rows(trained: RunResult) -> None:
    saved = SavedModel(model=trained.model, normalizer=trained.normalizer,
                       strategy=trained.spec.strategy,
                       document={"backtest": {"threshold": 0.5}})
    frame = demo(days=RUN["demo_days"], seed=RUN["seed"])
    with pytest.raises(ParameterError, match="does not record its training dates"):
        saved.backtest(frame)
    assert saved.backtest(frame, all_rows=True).times[0] == frame.index[features.WARMUP_BARS]
