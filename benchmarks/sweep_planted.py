"""How often the planted-model check of MODEL.md section 7 passes over random thetas, with
the patience of 20 and of 50 epochs (why `ssots train` defaults to 50).

Run: ``python benchmarks/sweep_planted.py``. The last line gives the pass counts.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from planted import planted_check

SEEDS = range(20)
PATIENCES = (20, 50)


def main() -> None:
    """Print each seed's outcome per patience, then the pass counts on the last line."""
    passes = dict.fromkeys(PATIENCES, 0)
    for seed in SEEDS:
        for patience in PATIENCES:
            outcome = planted_check(seed, patience)
            passed = outcome.max_w_error < 0.01 and outcome.test_r2 > 0.98
            passes[patience] += passed
            print(
                f"seed {seed:2d} patience {patience}: max |w error| {outcome.max_w_error:.4f}, "
                f"test R^2 {outcome.test_r2:.4f}, {outcome.epochs_run} epochs"
                + ("" if passed else "  FAIL")
            )
    counts = ", ".join(f"patience {p}: {n}/{len(SEEDS)}" for p, n in passes.items())
    print(f"planted check passes ({counts})")


if __name__ == "__main__":
    main()
