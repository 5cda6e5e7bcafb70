"""Time the trade list (``ssots.trades.trade_list``) and its renderings against the backtest
that produces the books, on 1,000,000 one-minute bars.

Run: ``python benchmarks/bench_trades.py``. The bars are a seeded random walk; the
strategy's direction holds for runs of 1..20 bars and the Q-score is uniform noise, so the
Q-filter's decision flips often (the worst case for the list's length). Each step is timed
as the best of ``REPEATS`` runs in CPU time of this process with one native thread. The
list is vectorised like the books, so building it should cost no more than the backtest
itself; rendering (JSON records, CSV) is Python per trade and is reported per trade. The
last line is the time ratio trade_list / backtest (target <= 1).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ssots.backtest import backtest
from ssots.trades import chart_series, trade_list

N_BARS = 1_000_000
REPEATS = 5
TARGET_RATIO = 1.0


def best(step: Callable[[], object]) -> float:
    """The least CPU time of ``REPEATS`` runs of ``step``."""
    times = []
    for _ in range(REPEATS):
        started = time.process_time()
        step()
        times.append(time.process_time() - started)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(11)
    times = pd.date_range("2020-01-01", periods=N_BARS, freq="min", tz="UTC")
    close = 40_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, N_BARS)))
    direction = np.repeat(rng.choice([-1.0, 1.0], N_BARS), rng.integers(1, 21, N_BARS))[:N_BARS]
    q = rng.random(N_BARS)
    with threadpool_limits(1):
        result = backtest(times, close, direction, q, 0.5)
        trades = trade_list(result)
        books = best(lambda: backtest(times, close, direction, q, 0.5))
        listed = best(lambda: trade_list(result))
        series = best(lambda: chart_series(result))
        records = best(lambda: trades.records())
        csv = best(lambda: trades.to_csv())
    per_trade = 1e6 / len(trades)
    print(f"{N_BARS:,} bars, {len(trades):,} trades of {trades.counts()['calls']:,} calls")
    print(f"backtest (three books)   {books * 1000:8.1f} ms")
    print(f"trade_list               {listed * 1000:8.1f} ms")
    print(f"chart_series (2,000 pts) {series * 1000:8.1f} ms")
    for name, spent in (("records (JSON rows)", records), ("to_csv", csv)):
        print(f"{name:<24} {spent * 1000:8.1f} ms  ({spent * per_trade:.2f} µs a trade)")
    ratio = listed / books
    verdict = "ok" if ratio <= TARGET_RATIO else "SLOWER than target"
    print(f"trade_list / backtest time ratio: {ratio:.3f} (target <= {TARGET_RATIO}: {verdict})")


if __name__ == "__main__":
    main()
