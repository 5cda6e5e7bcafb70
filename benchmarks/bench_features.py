"""Time ``compute_indicators`` + ``dimensions`` against TA-Lib on 1,000,000 bars.

Run: ``python benchmarks/bench_features.py``. The frame is a seeded random walk (1-minute
bars around 40,000) built here with numpy. TA-Lib computes the same indicators (SMA20,
SMA50, EMA12, EMA26, RSI14, MACD, BBANDS, STDDEV of log returns, ROCR) from the same
closes. Each side is timed as the best of ``REPEATS`` interleaved runs, in CPU time of
this process, with every thread pool (numba, BLAS, OpenMP) held to one thread: on an idle
machine this equals wall time, and on a shared one it is not inflated by other processes.

The indicator loops are compiled by numba and cached on disk; the JIT cost is reported
apart from the timings: a fresh process compiling into an empty cache directory
(``NUMBA_CACHE_DIR``), then a fresh process loading that cache (what every run after the
first pays), then the first call in this process. The script also prints how far each of
our indicators is from TA-Lib's on this long, high-priced series. The last line is the
time ratio ours / TA-Lib (target <= 1.5, stretch <= 1.1).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ssots.features import INDICATORS, compute_indicators, dimensions

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from talib_reference import talib_indicators

N_BARS = 1_000_000
REPEATS = 15
TARGET_RATIO, STRETCH_RATIO = 1.5, 1.1
MACD_COLUMNS = ("macd", "macd_signal", "macd_hist")
FIRST_CALL = """
import time
started = time.perf_counter()
import numpy as np, pandas as pd
from ssots.features import compute_indicators, dimensions
imported = time.perf_counter()
close = 100.0 + np.arange(200.0)
index = pd.date_range("2024-01-01", periods=200, freq="h", tz="UTC")
frame = pd.DataFrame({"open": close, "high": close, "low": close, "close": close,
                      "volume": 1.0}, index=index)
dimensions(frame, compute_indicators(frame))
print(imported - started, time.perf_counter() - imported)
"""


def random_walk_frame(n_bars: int, seed: int = 7) -> pd.DataFrame:
    """A canonical OHLCV frame whose close is a geometric random walk from 40,000."""
    rng = np.random.default_rng(seed)
    close = 40_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, n_bars)))
    open_ = np.r_[close[0], close[:-1]]
    spread = np.abs(rng.normal(0.0, 0.0005, n_bars)) * close
    index = pd.date_range("2020-01-01", periods=n_bars, freq="min", tz="UTC")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.uniform(0.1, 10.0, n_bars),
        },
        index=index,
    )


def ours(frame: pd.DataFrame) -> pd.DataFrame:
    """The project's indicators and the eight dimensions built from them."""
    return dimensions(frame, compute_indicators(frame))


def talib_reference(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The same indicators from TA-Lib, under our column names."""
    return talib_indicators(frame["close"].to_numpy())


def best_times(
    functions: list[Callable[[pd.DataFrame], object]], frame: pd.DataFrame
) -> list[float]:
    """Fastest of ``REPEATS`` runs of each function, in CPU seconds.

    Runs are interleaved (a, b, a, b, ...) so that a burst of load on the machine slows
    both sides alike rather than one of them.
    """
    best = [float("inf")] * len(functions)
    for _ in range(REPEATS):
        for position, function in enumerate(functions):
            started = time.process_time()
            function(frame)
            best[position] = min(best[position], time.process_time() - started)
    return best


def worst_differences(frame: pd.DataFrame) -> dict[str, float]:
    """Largest relative difference to TA-Lib after warm-up, per indicator column.

    MACD columns cross 0, so their difference is taken relative to the close.
    """
    close = frame["close"].to_numpy()
    indicators = compute_indicators(frame)
    worst = {}
    for name, expected in talib_reference(frame).items():
        valid = ~np.isnan(expected)
        error = np.abs(indicators[name].to_numpy()[valid] - expected[valid])
        if name in MACD_COLUMNS:
            scale = close[valid]
        else:
            scale = np.maximum(np.abs(expected[valid]), np.finfo(np.float64).tiny)
        worst[name] = float(np.max(error / scale))
    return worst


def first_call_seconds(cache_dir: str) -> tuple[float, float]:
    """Import and first-call seconds of a fresh process using ``cache_dir`` as the JIT
    cache (an empty folder: the call compiles every loop; a filled one: it loads them)."""
    environment = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    result = subprocess.run(
        [sys.executable, "-c", FIRST_CALL],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    imported, called = result.stdout.split()
    return float(imported), float(called)


def report_jit() -> None:
    """Print the compile time (empty cache), the cache load time, and this process's."""
    with tempfile.TemporaryDirectory() as cache_dir:
        _, compile_seconds = first_call_seconds(cache_dir)
        import_warm, load_seconds = first_call_seconds(cache_dir)
    frame = random_walk_frame(200)
    started = time.perf_counter()
    ours(frame)
    here = time.perf_counter() - started
    print(
        f"JIT, first call in a fresh process: {compile_seconds:.2f} s compiling "
        f"(empty cache), {load_seconds:.3f} s loading the cache; in this process "
        f"{here:.3f} s (numba imported lazily; import of ssots.features "
        f"{import_warm:.2f} s)"
    )


def main() -> None:
    """Print the JIT cost, agreement with TA-Lib, both timings, then the ratio last."""
    # ssots.features imports numba on first use: its thread pool is set before that
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    report_jit()
    frame = random_walk_frame(N_BARS)
    worst = worst_differences(frame)
    with threadpool_limits(limits=1):
        ours_seconds, talib_seconds, indicators_seconds = best_times(
            [ours, talib_reference, compute_indicators], frame
        )
    print(f"bars: {N_BARS:,}; {len(INDICATORS)} indicators + 8 dimensions")
    print("largest difference to TA-Lib (relative; MACD columns: of the close):")
    print("  " + ", ".join(f"{name} {value:.1e}" for name, value in worst.items()))
    print(f"best of {REPEATS} runs, CPU time, one thread")
    print(f"ssots compute_indicators + dimensions: {ours_seconds * 1e3:8.1f} ms")
    print(f"  of which compute_indicators alone:   {indicators_seconds * 1e3:8.1f} ms")
    print(f"TA-Lib same indicators:                {talib_seconds * 1e3:8.1f} ms")
    ratio = ours_seconds / talib_seconds
    print(
        f"features/talib time ratio: {ratio:.2f}x "
        f"(target <= {TARGET_RATIO:g}x, stretch <= {STRETCH_RATIO:g}x)"
    )


if __name__ == "__main__":
    main()
