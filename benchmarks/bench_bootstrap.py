"""How fast the evidence's bootstrap is: a 95 % stationary-bootstrap interval of a rank
correlation (1,000 resamples, block length from the data) by ``ssots.stats`` against
``arch``'s ``StationaryBootstrap`` on the same series and block length.

Run: ``python benchmarks/bench_bootstrap.py [--rows N]``. The last line is the ratio of
arch's time to ours (higher is better for ssots), measured in the same run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ssots import stats


def main() -> None:
    """Time both on one series; print each time, then the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--reps", type=int, default=1000)
    args = parser.parse_args()
    from arch.bootstrap import StationaryBootstrap

    rng = np.random.default_rng(0)
    x = np.cumsum(rng.standard_normal(args.rows)) % 7.0
    y = 0.1 * x + rng.standard_normal(args.rows)
    rx, ry = stats.ranks(x), stats.ranks(y)
    start = time.perf_counter()
    ours = stats.correlation_interval(x, y, rank=True, reps=args.reps, seed=1)
    ours_time = time.perf_counter() - start
    start = time.perf_counter()
    bootstrap = StationaryBootstrap(ours.block, rx, ry, seed=1)
    theirs = bootstrap.conf_int(
        lambda a, b: np.corrcoef(a, b)[0, 1], reps=args.reps, method="percentile"
    )[:, 0]
    arch_time = time.perf_counter() - start
    print(f"ssots.stats: {ours_time:.3f} s, interval [{ours.low:.4f}, {ours.high:.4f}]")
    print(f"arch:        {arch_time:.3f} s, interval [{theirs[0]:.4f}, {theirs[1]:.4f}]")
    print(f"arch time / ssots time ({args.rows} rows, {args.reps} resamples): "
          f"{arch_time / ours_time:.1f}x")


if __name__ == "__main__":
    main()
