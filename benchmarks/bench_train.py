"""Full-batch training speed on 1,000,000 rows x 8 dimensions, against one ``X @ w`` pass.

Run: ``python benchmarks/bench_train.py [--rows N] [--epochs E] [--threads T]``. Labels
come from a planted model plus noise. Threads are pinned: numba's (the fused kernel) with
``numba.set_num_threads(T)`` and BLAS's (the reference ``X @ w``) with threadpoolctl, both
to T (default: every core numba sees). The first epoch is a warm-up; after each timed
epoch the ``on_epoch`` callback times one ``X @ w`` pass over the same float64 rows, so the
epochs and the reference share the machine's load. The kernel's compilation is reported
separately: once cold (a fresh numba cache, in a child process) and as this process's
first call (loading the on-disk cache when it exists). The last line is the ratio of the
median epoch time to the median ``X @ w`` time (target <= 5, stretch <= 3).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np
from threadpoolctl import threadpool_limits

from ssots.model import EpochEvent, KernelRows, QScoreModel, TrainConfig, objective, train

TARGET, STRETCH = 5.0, 3.0

_FIRST_CALL = """
import time
import numpy as np
start = time.perf_counter()
from ssots.model import KernelRows, QScoreModel, objective, predict_rows
data = KernelRows.from_arrays(np.full((3, 8), 0.5), np.zeros(3))
theta = QScoreModel.default(8).to_vector()
objective(theta, data)
predict_rows(theta, data)
print(time.perf_counter() - start)
"""


def cold_compile_seconds() -> float:
    """Seconds to import the model and make its first evaluations with an empty numba
    cache (so everything compiles), in a child process."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run(
            [sys.executable, "-c", _FIRST_CALL], env=env, capture_output=True, text=True, check=True
        )
    return float(out.stdout.split()[-1])


def main() -> None:
    """Parse arguments, train, print timings and the ratio line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=numba.config.NUMBA_NUM_THREADS)
    args = parser.parse_args()
    numba.set_num_threads(args.threads)

    cold = cold_compile_seconds()
    start = time.perf_counter()
    objective(QScoreModel.default(8).to_vector(), KernelRows.from_arrays(np.ones((3, 8)), [0] * 3))
    first_call = time.perf_counter() - start

    rng = np.random.default_rng(0)
    X = rng.random((args.rows, 8))
    planted = QScoreModel(rng.dirichlet(np.ones(8)), 0.5, 0.6, 0.25, 0.03, 0.12)
    y = planted.predict(X) + rng.normal(0.0, 0.01, args.rows)
    w = planted.w

    start = time.perf_counter()
    KernelRows.from_arrays(X, y)
    prepare = time.perf_counter() - start

    epoch_ends: list[float] = []
    reference: list[float] = []
    restarts: list[float] = []

    def clock(_: EpochEvent) -> None:
        epoch_ends.append(time.perf_counter())
        begin = time.perf_counter()
        X @ w
        reference.append(time.perf_counter() - begin)
        restarts.append(time.perf_counter())  # the next epoch starts here

    with threadpool_limits(limits=args.threads, user_api="blas"):
        train(X, y, config=TrainConfig(epochs=args.epochs + 1), on_epoch=clock)
    epochs = np.array(epoch_ends[1:]) - np.array(restarts[:-1])  # drop the warm-up epoch
    epoch = float(np.median(epochs))
    matvec = float(np.median(reference[1:]))
    print(f"rows={args.rows} dims=8 epochs timed={args.epochs} (after 1 warm-up)")
    print(f"threads: numba {numba.get_num_threads()}, BLAS {args.threads} (threadpoolctl)")
    print(f"kernel compilation, cold (empty numba cache): {cold:.2f} s")
    print(f"kernel first call in this process (on-disk cache): {first_call:.2f} s")
    print(f"data preparation (once per dataset): {prepare * 1e3:.0f} ms")
    print(f"epoch time: median {epoch * 1e3:.2f} ms, min {epochs.min() * 1e3:.2f} ms")
    print(f"X @ w pass: median {matvec * 1e3:.2f} ms, min {min(reference) * 1e3:.2f} ms")
    print(f"train throughput: {args.rows / epoch / 1e6:.1f}M row-epochs/s")
    print(
        f"epoch / (X @ w) time ratio: {epoch / matvec:.2f} "
        f"(target <= {TARGET:g}, stretch <= {STRETCH:g})"
    )


if __name__ == "__main__":
    main()
