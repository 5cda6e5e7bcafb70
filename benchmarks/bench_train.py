"""Full-batch training throughput on 1,000,000 rows x 8 dimensions.

Run: ``python benchmarks/bench_train.py [--rows N] [--epochs E]``. Labels come from a
planted model plus noise. The first epoch is a warm-up; the next ``--epochs`` epochs of
``ssots.model.train`` are timed from the ``on_epoch`` callback, so the one-off data
preparation is reported separately. The last line is the throughput in row-epochs/s.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from ssots.model import EpochEvent, KernelRows, QScoreModel, TrainConfig, train

TARGET = 20e6


def main() -> None:
    """Parse arguments, train, print timings and the throughput line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    X = rng.random((args.rows, 8))
    planted = QScoreModel(rng.dirichlet(np.ones(8)), 0.5, 0.6, 0.25, 0.03, 0.12)
    y = planted.predict(X) + rng.normal(0.0, 0.01, args.rows)

    start = time.perf_counter()
    KernelRows.from_arrays(X, y)
    prepare = time.perf_counter() - start

    stamps: list[float] = []

    def clock(_: EpochEvent) -> None:
        stamps.append(time.perf_counter())

    train(X, y, config=TrainConfig(epochs=args.epochs + 1), on_epoch=clock)
    per_epoch = (stamps[-1] - stamps[0]) / args.epochs
    median = float(np.median(np.diff(stamps)))
    throughput = args.rows / per_epoch
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print(f"rows={args.rows} dims=8 epochs timed={args.epochs} (after 1 warm-up)")
    print(f"data preparation (once per dataset): {prepare * 1e3:.0f} ms")
    print(f"epoch time: mean {per_epoch * 1e3:.1f} ms, median {median * 1e3:.1f} ms")
    print(f"train throughput: {throughput / 1e6:.1f}M row-epochs/s (target >= {TARGET / 1e6:.0f}M)")


if __name__ == "__main__":
    main()
