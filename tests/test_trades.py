"""The trade list (``ssots.trades``): the strategy's calls split where the Q-filter's
decision changes, checked against the books themselves: the taken trades are the
Q-filtered book's trades and compound to its equity, every bar of every call is in
exactly one trade, and each trade's return is what a book holding only that trade makes."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ssots import strategies
from ssots.backtest import BacktestResult, Book, backtest, simulate
from ssots.data import load
from ssots.errors import ParameterError
from ssots.pipeline import prepare
from ssots.spec import STRATEGIES, RunSpec
from ssots.trades import (
    FILTER_STATES,
    TRADE_COLUMNS,
    chart_series,
    drawdowns,
    envelope_rows,
    trade_list,
)

FEE_BP = 10.0
REAL_CASES = [
    ("yahoo_BTC-USD_daily.csv", "rsi-enhanced"),
    ("kaggle_coin_Ethereum_excel_resaved.csv", "momentum-cross"),
    ("binance_klines_BTCUSDT_1h_2022-01.csv", "bollinger-bands"),
    ("bitstamp_1min_kaggle_2012_sample.csv", "macd-strategy"),
]


def _times(n: int) -> pd.DatetimeIndex:
    return pd.date_range("2024-01-01", periods=n, freq="1D", tz="UTC")


def _calls(direction: np.ndarray) -> list[tuple[int, int, int]]:
    """(entry bar, exit bar, side) of each run of one non-zero direction, the last bar
    flat: a plain loop, independent of the vectorised code."""
    calls, start = [], None
    held = [*list(direction[:-1]), 0.0]
    for bar, side in enumerate(held):
        if start is not None and side != held[start]:
            calls.append((start, bar, int(held[start])))
            start = None
        if start is None and side != 0:
            start = bar
    return calls


def _position_runs(positions: np.ndarray) -> list[tuple[int, int, int]]:
    """(entry bar, exit bar, side) of each trade a book holding ``positions`` makes."""
    return _calls(positions)


def assert_agrees_with_the_books(result: BacktestResult) -> None:
    """Every property the trade list promises, checked against ``result``'s books."""
    trades = trade_list(result)
    filtered = result.books["q_filtered"]
    states = trades.states()
    taken = states == "taken"
    # The taken trades are the Q-filtered book's trades: same bars, same returns.
    runs = _position_runs(filtered.positions)
    assert list(zip(trades.entry[taken], trades.exit[taken], trades.side[taken], strict=True)) \
        == runs
    np.testing.assert_array_equal(trades.returns[taken], filtered.trade_returns)
    assert math.isclose(np.prod(1.0 + trades.returns[taken]), filtered.equity[-1],
                        rel_tol=1e-12, abs_tol=1e-15)
    # Taken, skipped and ruined trades tile every call: each bar of a call in one trade.
    calls = _calls(result.direction)
    assert trades.counts()["calls"] == len(calls)
    assert sum(trades.counts()[state] for state in FILTER_STATES) == len(trades)
    for number, (entry, exit_bar, side) in enumerate(calls, start=1):
        mine = trades.call == number
        assert trades.entry[mine][0] == entry
        assert trades.exit[mine][-1] == exit_bar
        np.testing.assert_array_equal(trades.entry[mine][1:], trades.exit[mine][:-1])
        assert set(trades.side[mine]) == {side}
    # The filter's decision holds over every bar of a trade, and flips between neighbours
    # of one call.
    q, threshold = result.q, result.threshold
    for row in range(len(trades)):
        bars = slice(trades.entry[row], trades.exit[row])
        above = q[bars] >= threshold
        assert above.all() if states[row] != "skipped" else not above.any()
        if states[row] == "ruined":
            assert filtered.ruined_at is not None
            assert trades.entry[row] >= filtered.ruined_at
    # Each trade returns what a book holding only that trade returns.
    for row in range(len(trades)):
        alone = np.zeros(len(result.close))
        alone[trades.entry[row] : trades.exit[row]] = trades.side[row]
        book = simulate(result.close, alone, result.cost, ruin_floor=0.0)
        assert book.trade_returns[0] == pytest.approx(trades.returns[row], rel=1e-12, abs=1e-15)
    # A strategy book that was not ruined trades exactly the calls.
    strategy = result.books["strategy"]
    if strategy.ruined_at is None:
        assert _position_runs(strategy.positions) == calls


def test_a_hand_made_block() -> None:
    close = np.array([100.0, 110, 121, 110, 100, 105, 99])
    direction = np.array([1, 1, 1, -1, -1, 1, 1])
    q = np.array([0.9, 0.2, 0.8, 0.7, 0.7, 0.1, 0.9])
    result = backtest(_times(7), close, direction, q, 0.5, fee_bp=0.0)
    trades = trade_list(result)
    frame = trades.frame()
    assert list(frame.columns) == list(TRADE_COLUMNS)
    assert frame["call"].tolist() == [1, 1, 1, 2, 3]
    assert frame["side"].tolist() == ["long", "long", "long", "short", "long"]
    assert frame["filter"].tolist() == ["taken", "skipped", "taken", "taken", "skipped"]
    assert frame["entry_price"].tolist() == [100.0, 110.0, 121.0, 110.0, 105.0]
    assert frame["exit_price"].tolist() == [110.0, 121.0, 110.0, 105.0, 99.0]
    assert frame["bars"].tolist() == [1, 1, 1, 2, 1]
    np.testing.assert_allclose(frame["return"], [0.1, 0.1, -1 / 11, 5 / 110, -6 / 105])
    assert frame["q_entry"].tolist() == [0.9, 0.2, 0.8, 0.7, 0.1]
    assert frame["entry_time"][3] == _times(7)[3]
    assert trades.counts() == {"calls": 3, "taken": 3, "skipped": 2, "ruined": 0}
    assert_agrees_with_the_books(result)


def test_fees_are_paid_on_every_trade_entry_and_exit() -> None:
    close = np.full(6, 100.0)
    result = backtest(_times(6), close, np.ones(6), np.array([1, 1, 0, 0, 1, 1]), 0.5,
                      fee_bp=FEE_BP)
    trades = trade_list(result)
    round_trip = (1 - 0.001) / (1 + 0.001) - 1
    np.testing.assert_allclose(trades.returns, [round_trip] * 3, rtol=1e-14)
    assert trades.states().tolist() == ["taken", "skipped", "taken"]
    assert_agrees_with_the_books(result)


@pytest.mark.parametrize("seed", range(12))
def test_random_blocks_agree_with_the_books(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 400))
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.03, n)))
    direction = np.repeat(rng.choice([-1.0, 1.0], n), rng.integers(1, 8, n))[:n]
    q = rng.random(n)
    floor = float(rng.choice([0.0, 0.5, 0.9]))
    result = backtest(_times(n), close, direction, q, float(rng.random()), fee_bp=FEE_BP,
                      slippage_bp=float(rng.choice([0.0, 5.0])), ruin_floor=floor)
    assert_agrees_with_the_books(result)


@pytest.mark.parametrize(("file", "strategy"), REAL_CASES)
def test_real_test_blocks_of_every_strategy_agree_with_the_books(
    real_data_dir: Path, file: str, strategy: str
) -> None:
    frame = load(real_data_dir / file)[0]
    prepared = prepare(frame, RunSpec.build(strategy=strategy, allow_gaps=True))
    test = slice(prepared.split.test.start, prepared.split.test.stop)
    n = test.stop - test.start
    q = np.random.default_rng(7).random(n)
    result = backtest(prepared.times[test], prepared.close[test], prepared.direction[test],
                      q, 0.4, fee_bp=FEE_BP)
    assert_agrees_with_the_books(result)
    assert trade_list(result).counts()["calls"] > 5


def test_calls_after_the_filtered_books_ruin_are_marked_ruined(real_data_dir: Path) -> None:
    """Yahoo BTC, rsi-enhanced: the strategy's test book is ruined; a filter that takes
    nearly every call is ruined too and takes nothing after."""
    frame = load(real_data_dir / "yahoo_BTC-USD_daily.csv")[0]
    prepared = prepare(frame, RunSpec.build(strategy="rsi-enhanced"))
    test = slice(prepared.split.test.start, prepared.split.test.stop)
    q = np.ones(test.stop - test.start)
    q[[5, 40, 41, 300]] = 0.0  # skipped now and then, before and after the ruin
    result = backtest(prepared.times[test], prepared.close[test], prepared.direction[test],
                      q, 0.5, fee_bp=FEE_BP)
    ruin = result.books["q_filtered"].ruined_at
    assert ruin is not None
    trades = trade_list(result)
    states = trades.states()
    assert (states[trades.entry >= ruin] != "taken").all()
    assert (states == "ruined").sum() > 0
    assert trades.returns.min() >= -1.0
    assert_agrees_with_the_books(result)


def test_every_strategy_of_a_trained_run_lists_its_calls() -> None:
    from ssots.services.training import train_run

    for strategy in STRATEGIES:
        result = train_run(RunSpec.build(dataset="demo", demo_days=300, epochs=3,
                                         strategy=strategy)).backtest
        trades = trade_list(result)
        assert trades.counts()["taken"] == result.metrics["q_filtered"]["trades"]
        assert_agrees_with_the_books(result)


def test_the_csv_is_the_frame_and_reads_back() -> None:
    rng = np.random.default_rng(1)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 200)))
    direction = np.where(np.sin(np.arange(200) / 5) > 0, 1.0, -1.0)
    result = backtest(_times(200), close, direction, rng.random(200), 0.5)
    trades = trade_list(result)
    text = trades.to_csv()
    assert text.splitlines()[0] == ",".join(TRADE_COLUMNS)
    assert text.endswith("\n")
    assert "\r" not in text
    read = pd.read_csv(io.StringIO(text), parse_dates=["entry_time", "exit_time"])
    pd.testing.assert_frame_equal(read, trades.frame(), check_exact=True)
    assert len(trades.records()) == len(trades)
    first = [values[0] for values in trades.columns().values()]
    assert trades.records()[0] == dict(zip(TRADE_COLUMNS, first, strict=True))


def test_a_result_without_its_series_has_no_trade_list() -> None:
    book = Book(np.zeros(2), np.ones(2), np.array([]))
    bare = BacktestResult(_times(2), 0.5, 10.0, 0.0, {"q_filtered": book}, {})
    with pytest.raises(ParameterError, match="no prices"):
        trade_list(bare)


def test_drawdowns_reach_each_books_max_drawdown() -> None:
    rng = np.random.default_rng(2)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.03, 5000)))
    direction = np.where(rng.random(5000) < 0.5, -1.0, 1.0)
    result = backtest(_times(5000), close, direction, rng.random(5000), 0.5)
    curves = drawdowns(result)
    for book, curve in curves.items():
        assert curve.max() <= 0.0
        assert curve.min() == pytest.approx(result.metrics[book]["max_drawdown"], abs=1e-15)
    series = chart_series(result, max_points=400)
    assert series["total_points"] == 5000
    drawn = series["drawdown"]
    assert len(drawn["times"]) <= 400 + 2
    for book, curve in curves.items():
        assert min(drawn[book]) == curve.min()  # the deepest point is never sampled away
    price = series["price"]
    assert max(price["close"]) == close.max()
    assert min(price["close"]) == close.min()
    assert price["times"][0] == result.times[0].isoformat()
    assert price["times"][-1] == result.times[-1].isoformat()


def test_short_series_are_sent_whole_and_max_points_has_a_floor() -> None:
    values = np.arange(10.0)
    np.testing.assert_array_equal(envelope_rows([values], 10), np.arange(10))
    assert len(envelope_rows([values], 4)) <= 6
    with pytest.raises(ParameterError):
        envelope_rows([values], 3)


def test_strategies_direction_is_what_the_trade_list_calls(real_data_dir: Path) -> None:
    frame = load(real_data_dir / "kaggle_coin_Bitcoin.csv")[0].iloc[-400:]
    seen = strategies.signals("macd-strategy", frame)
    rows = slice(60, None)
    close = frame["close"].to_numpy()[rows]
    direction = seen.direction[rows]
    result = backtest(frame.index[rows], close, direction, np.ones(len(close)), 0.5)
    trades = trade_list(result)
    assert (trades.states() == "taken").all()
    assert trades.side.tolist() == [int(direction[entry]) for entry in trades.entry]


# -- ssots backtest --trades ------------------------------------------------------------


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from typer.testing import CliRunner

    from ssots.cli import app

    path = tmp_path_factory.mktemp("weights") / "w.json"
    train = ["train", "--epochs", "10", "--demo-days", "500", "--no-track", "--output", str(path)]
    result = CliRunner().invoke(app, train)
    assert result.exit_code == 0, result.output
    return path


def test_cli_backtest_writes_the_trade_list_of_its_books(
    weights_file: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from ssots.artifacts import read_weights
    from ssots.cli import app
    from ssots.data import demo

    out = tmp_path / "deeper" / "trades.csv"
    args = ["backtest", "--weights", str(weights_file), "--dataset", "demo", "--trades", str(out)]
    shown = CliRunner().invoke(app, args)
    assert shown.exit_code == 0, shown.output
    saved = read_weights(weights_file)
    expected = trade_list(saved.backtest(demo()))  # `--dataset demo`: the default demo
    assert out.read_text() == expected.to_csv()
    counts = expected.counts()
    text = " ".join(shown.output.split())
    calls = f"{counts['calls']:,} calls ({counts['taken']:,} taken by the Q-filter"
    assert f"{len(expected):,} trades of {calls}" in text
    assert not list(out.parent.glob(".*.tmp")), "a scratch file was left behind"


@pytest.mark.parametrize("where", ["folder", "under-a-file", "name-too-long"])
def test_cli_backtest_refuses_a_trades_path_it_cannot_write(
    weights_file: Path, tmp_path: Path, where: str
) -> None:
    from typer.testing import CliRunner

    from ssots.cli import app

    if where == "folder":
        target = tmp_path
    elif where == "under-a-file":
        (tmp_path / "file").write_text("x")
        target = tmp_path / "file" / "trades.csv"
    else:  # the file system refuses it (as it refuses a read-only folder, even as root)
        target = tmp_path / ("t" * 300 + ".csv")
    args = ["backtest", "--weights", str(weights_file), "--dataset", "demo"]
    shown = CliRunner().invoke(app, [*args, "--trades", str(target)])
    assert shown.exit_code == 2, shown.output
    assert "cannot write the trade list to" in shown.output
    assert "Traceback" not in shown.output
    if where != "name-too-long":  # refused before the backtest: nothing else was printed
        assert "Backtest of" not in shown.output


@pytest.mark.parametrize("column", TRADE_COLUMNS)
@pytest.mark.parametrize("descending", [False, True])
def test_order_sorts_by_any_column_as_pandas_does(column: str, descending: bool) -> None:
    rng = np.random.default_rng(4)
    close = np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.02, 600))), 0)  # ties in prices
    direction = np.repeat(rng.choice([-1.0, 1.0], 600), rng.integers(1, 6, 600))[:600]
    q = np.round(rng.random(600), 1)
    result = backtest(_times(600), close, direction, q, 0.5, ruin_floor=0.0)
    trades = trade_list(result)
    expected = trades.frame().sort_values(column, ascending=not descending, kind="stable")
    rows = trades.order(column, descending)
    if not descending:
        np.testing.assert_array_equal(rows, expected.index.to_numpy())
    sorted_frame = trades.subset(rows).frame()
    pd.testing.assert_series_equal(sorted_frame[column].reset_index(drop=True),
                                   expected[column].reset_index(drop=True))
    if descending:  # ties stay in time order, as in an ascending sort
        for _, tied in pd.DataFrame({"key": sorted_frame[column], "row": rows}).groupby("key"):
            assert tied["row"].is_monotonic_increasing
    with pytest.raises(ParameterError, match="sort by one of"):
        trades.order("price")


def test_iso_times_are_isoformat() -> None:
    from ssots.trades import iso_times

    for times in (
        pd.date_range("2020-01-01", periods=50, freq="1min", tz="UTC"),
        pd.date_range("1960-01-01", periods=3, freq="1D", tz="UTC").as_unit("s"),
        pd.DatetimeIndex(["2020-01-01 00:00:00.5", "2020-01-01 00:00:01",
                          "2020-01-01 00:00:01.000000001"], tz="UTC"),
        pd.date_range("2020-01-01", periods=3, freq="1h", tz="Europe/Paris"),
    ):
        assert iso_times(times) == [t.isoformat() for t in times]


def test_the_chart_view_marks_at_most_the_first_trades() -> None:
    from ssots.services.trades import trader_view
    from ssots.trades import MAX_MARKED_TRADES

    n = 3 * MAX_MARKED_TRADES
    rng = np.random.default_rng(5)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    times = pd.date_range("2024-01-01", periods=n, freq="1min", tz="UTC")
    result = backtest(times, close, rng.choice([-1.0, 1.0], n), rng.random(n), 0.5)
    view = trader_view(result, "macd-strategy", max_points=500)
    full = trade_list(result)
    assert view["total"] == len(full) > MAX_MARKED_TRADES
    assert view["marked"] == len(view["trades"]) == MAX_MARKED_TRADES
    assert view["trades"] == full.records()[:MAX_MARKED_TRADES]
    assert view["rows"] == list(range(MAX_MARKED_TRADES))
    assert view["counts"] == full.counts()
    assert len(view["price"]["times"]) <= 502
