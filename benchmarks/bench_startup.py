"""Start-up cost of a training command: the wall time of ``ssots train --dataset demo``
(default epochs) over the wall time of ``python -c "import pandas, sklearn.ensemble,
sklearn.linear_model"``, the floor of what the job must import. Target <= 1.3.

One warm-up training first (so numba's on-disk cache exists), then ``--pairs`` pairs run
back to back, each pair's ratio taken; the figure is the median ratio, on the last line.
Also prints the wall of ``ssots --help``. Every run is a fresh interpreter in a temporary
``SSOTS_HOME``; the training command sets its own native threads (the whole machine).

    python benchmarks/bench_startup.py [--pairs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.3
FLOOR = "import pandas, sklearn.ensemble, sklearn.linear_model"


def main() -> None:
    """Run the benchmark and print the figure on the last line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5, help="measured pairs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        env = {**os.environ, "SSOTS_HOME": str(home / "home")}
        train = [
            sys.executable, "-m", "ssots", "train", "--dataset", "demo",
            "--output", str(home / "weights.json"), "--force",
        ]  # fmt: skip
        floor = [sys.executable, "-c", FLOOR]
        help_ = [sys.executable, "-m", "ssots", "--help"]
        warm = _wall(train, env)
        print(f"warm-up training (compiles or loads numba's cache): {warm:.2f} s")
        ratios, trains, floors = [], [], []
        for pair in range(args.pairs):
            trains.append(_wall(train, env))
            floors.append(_wall(floor, env))
            ratios.append(trains[-1] / floors[-1])
            print(
                f"pair {pair + 1}: train {trains[-1]:.2f} s, imports {floors[-1]:.2f} s, "
                f"ratio {ratios[-1]:.2f}"
            )
        helps = [_wall(help_, env) for _ in range(args.pairs)]
    print(f"ssots --help: median {statistics.median(helps):.2f} s over {len(helps)} runs")
    print(
        f"median train {statistics.median(trains):.2f} s, "
        f"median imports {statistics.median(floors):.2f} s"
    )
    ratio = statistics.median(ratios)
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    print(
        f"ssots train --dataset demo / import floor: {ratio:.2f} (median of {len(ratios)} "
        f"pairs; target <= {TARGET}): {verdict}"
    )


def _wall(command: list[str], env: dict[str, str]) -> float:
    """Seconds from start to exit of ``command``; exits if it fails."""
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return wall


if __name__ == "__main__":
    main()
