"""The planted-model check of MODEL.md section 7 over many random thetas, with the library
defaults (``TrainConfig()``, which ``QScoreRegressor()`` uses).

Run: ``python benchmarks/sweep_planted.py [--seeds N] [--first S] [--runspec]``: seeds
S..S+N-1 (default 0..49); ``--runspec`` trains with the defaults of ``ssots train``
(``RunSpec``) instead. One line per seed, then ``planted: P/N pass, median epochs M``.
About 1 s per seed on one core.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from planted import passes, planted_check
from ssots.model import TrainConfig


def main() -> None:
    """Print each seed's outcome, then the pass count and median epochs on the last line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50, help="number of seeds (default 50)")
    parser.add_argument("--first", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--runspec", action="store_true", help="use the defaults of ssots train")
    args = parser.parse_args()
    if args.runspec:
        from ssots.pipeline import train_config
        from ssots.spec import RunSpec

        config = train_config(RunSpec())
    else:
        config = TrainConfig()
    print(f"config: {config}")
    passed, epochs = 0, []
    start = time.perf_counter()
    with threadpool_limits(limits=1):
        for seed in range(args.first, args.first + args.seeds):
            outcome = planted_check(seed, config)
            ok = passes(outcome)
            passed += ok
            epochs.append(outcome.epochs_run)
            print(
                f"seed {seed:3d}: max |w error| {outcome.max_w_error:.4f}, "
                f"test R^2 {outcome.test_r2:.4f}, {outcome.epochs_run} epochs"
                + ("" if ok else "  FAIL"),
                flush=True,
            )
    print(f"({time.perf_counter() - start:.0f} s)")
    print(f"planted: {passed}/{args.seeds} pass, median epochs {statistics.median(epochs):g}")


if __name__ == "__main__":
    main()
