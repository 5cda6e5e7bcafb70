"""Compare the calibration maps of the raw Q on the runs of docs/results.md and the demo.

Run: ``python benchmarks/compare_calibration.py [--data-dir DIR] [--no-demo]``. For each
CSV in ``../shared/data/real`` and the demo (3 daily years, seed 42), and each of the four
strategies, it trains with the default settings (``ssots.pipeline.run``, seed 42), takes the
raw Q of every row and fits each kind of ``ssots.model.Calibration`` on the TRAINING rows
only, then scores the test rows. A run "holds" when the calibrated test R^2 is within 0.02
of predict-the-mean's or above it (the target of issue 10). Prints one line per run, then
per kind over the real runs: runs held, median test R^2 minus the mean's, median test R^2.
The last line names the kinds' held counts on the real files.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np

from ssots import data
from ssots.evaluate import regression_metrics
from ssots.model import CALIBRATIONS, Calibration
from ssots.pipeline import prepare, run
from ssots.spec import STRATEGIES, RunSpec

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = PROJECT_ROOT.parent / "shared" / "data" / "real"
SEED = 42
TOLERANCE = 0.02


def compare(frame: object, spec: RunSpec) -> dict[str, float]:
    """Test R^2 of each calibration kind and of the training mean, for one run."""
    result = run(spec, frame)
    prepared = prepare(frame, spec)
    raw = result.model.predict(prepared.x)
    train, test = prepared.split.train, prepared.split.test
    y_train, y_test = prepared.y[train.start : train.stop], prepared.y[test.start : test.stop]
    scores = {"mean": regression_metrics(y_test, np.full(len(y_test), y_train.mean()))["r2"]}
    for kind in CALIBRATIONS:
        calibration = Calibration.fit(raw[train.start : train.stop], y_train, kind, (0.0, 1.0))
        scores[kind] = regression_metrics(y_test, calibration(raw[test.start : test.stop]))["r2"]
    return scores


def main() -> None:
    """Every (file, strategy) and the demo; a summary per calibration kind."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--no-demo", action="store_true")
    args = parser.parse_args()
    sources = [(path.name, data.load(path)[0]) for path in sorted(args.data_dir.glob("*.csv"))]
    if not args.no_demo:
        sources.append(("demo", data.demo(days=1095, freq="1d", seed=SEED)))
    runs: dict[str, list[dict[str, float]]] = {"real": [], "demo": []}
    for name, frame in sources:
        for strategy in STRATEGIES:
            scores = compare(frame, RunSpec.build(strategy=strategy, seed=SEED))
            runs["demo" if name == "demo" else "real"].append(scores)
            cells = "  ".join(f"{kind} {scores[kind]:+.3f}" for kind in ("mean", *CALIBRATIONS))
            print(f"{name:42s} {strategy:16s} {cells}", flush=True)
    held = {}
    for group, scores in runs.items():
        for kind in CALIBRATIONS:
            gaps = [s[kind] - s["mean"] for s in scores]
            if not gaps:
                continue
            count = sum(gap >= -TOLERANCE for gap in gaps)
            if group == "real":
                held[kind] = f"{count}/{len(gaps)}"
            print(
                f"{group} {kind:9s}: {count}/{len(gaps)} within {TOLERANCE} of the mean or "
                f"above; median R^2 - mean's {statistics.median(gaps):+.4f}, median R^2 "
                f"{statistics.median(s[kind] for s in scores):+.4f}, worst gap {min(gaps):+.4f}"
            )
    print("calibration held (real runs): " + ", ".join(f"{k} {v}" for k, v in held.items()))


if __name__ == "__main__":
    main()
