"""Computing the evidence of test blocks (the package docstring says what)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ssots import stats
from ssots.backtest import BacktestResult, bar_returns, equity_paths, periods_per_year
from ssots.evidence._verdict import ALPHA, finite_or_none, verdict

__all__ = [
    "BOOKS",
    "DRAWS",
    "FILTER_SHIFTS",
    "LEVEL",
    "REPS",
    "TestBlock",
    "block_evidence",
    "filter_shift_test",
    "pooled_evidence",
    "result_exposure",
    "run_evidence",
]

LEVEL = 0.95
"""Coverage of every interval."""
REPS = 1000
"""Bootstrap resamples per interval."""
FILTER_SHIFTS = 199
"""Most shifted filters a filter test simulates per block (evenly spaced shifts)."""
DRAWS = 999
"""Random combinations of per-block shifts for a pooled (walk-forward) test."""
BOOKS = ("strategy", "q_filtered", "buy_and_hold")
_CELLS = 1 << 21


@dataclass(frozen=True)
class TestBlock:
    """One test block: labels, the calibrated and raw Q, the prices and the strategy's
    directions of its bars, and its backtest (for the threshold, costs and times)."""

    y: np.ndarray
    calibrated: np.ndarray
    raw: np.ndarray
    close: np.ndarray
    direction: np.ndarray
    backtest: BacktestResult

    @property
    def scale(self) -> float:
        """sqrt(periods per year): per-bar Sharpe to annualised."""
        return math.sqrt(periods_per_year(self.backtest.times))

    def returns(self, book: str) -> np.ndarray:
        """The book's bar-to-bar returns (as its metrics use)."""
        return bar_returns(self.backtest.books[book].equity)


def _sharpe(returns: np.ndarray) -> np.ndarray:
    """Per-bar Sharpe of each row; a book that never moved counts as 0."""
    return np.nan_to_num(stats.rows_sharpe(returns), nan=0.0)


def filter_shift_test(block: TestBlock, margin: int) -> tuple[float, np.ndarray]:
    """The observed Q-filter Sharpe gain over the strategy (annualised) and its values for
    filters placed by the raw Q shifted by up to ``FILTER_SHIFTS`` shifts in [margin,
    n - margin]."""
    result = block.backtest
    n = block.raw.size
    cost = (result.fee_bp + result.slippage_bp) / 10_000.0
    strategy = float(_sharpe(block.returns("strategy")[None, :])[0])
    filtered = float(_sharpe(block.returns("q_filtered")[None, :])[0])
    observed = (filtered - strategy) * block.scale
    shifts = stats.allowed_shifts(n, margin)
    if shifts.size > FILTER_SHIFTS:
        shifts = np.unique(np.linspace(shifts[0], shifts[-1], FILTER_SHIFTS).round().astype(int))
    take = block.raw >= result.threshold
    direction = np.asarray(block.direction, dtype=np.float64)
    null = np.empty(shifts.size)
    chunk = max(1, _CELLS // n)
    bars = np.arange(n)
    for start in range(0, shifts.size, chunk):
        part = shifts[start : start + chunk]
        positions = np.where(take[(bars[None, :] - part[:, None]) % n], direction, 0.0)
        equity = equity_paths(block.close, positions, cost, result.ruin_floor)
        null[start : start + part.size] = _sharpe(bar_returns(equity))
    return observed, (null - strategy) * block.scale


def block_evidence(block: TestBlock, *, seed: int) -> dict[str, Any]:
    """The evidence of one test block (module docstring), JSON-ready, with its
    ``verdict``."""
    ranking = stats.correlation_shift_test(block.y, block.raw, rank=True)
    observed, null = filter_shift_test(block, ranking.margin)
    gain_interval = _gain_interval(block, seed)
    evidence = {
        "rows": int(block.y.size),
        **_settings(seed),
        "intervals": {
            "rank_ic": _interval(block.y, block.calibrated, seed, rank=True),
            "ic": _interval(block.y, block.calibrated, seed + 1, rank=False),
            "raw_rank_ic": _interval(block.y, block.raw, seed + 2, rank=True),
            "sharpe": {
                book: stats.sharpe_interval(
                    block.returns(book), scale=block.scale, level=LEVEL, reps=REPS,
                    seed=seed + 3 + number,
                ).to_dict()
                for number, book in enumerate(BOOKS)
            },
            "sharpe_gain": gain_interval,
        },
        "ranking": ranking.to_dict(),
        "filter": {
            "observed": observed,
            "p_value": finite_or_none(stats.shift_p_value(observed, null)),
            "null_size": int(null.size),
            "exposure": result_exposure(block.backtest),
        },
        "psr": {book: _psr(block.returns(book)) for book in ("q_filtered", "strategy")},
    }
    return _with_verdict(evidence)


def pooled_evidence(blocks: Sequence[TestBlock], *, seed: int) -> dict[str, Any]:
    """The evidence of several test blocks (a walk-forward's folds) pooled: correlations
    of all rows pooled (each block resampled and shifted within itself), the mean of the
    blocks' Sharpe ratios and Sharpe gains, the PSR of the pooled returns, and ``folds``:
    each block's raw rank IC and ranking p-value (the per-fold spread)."""
    ys = [block.y for block in blocks]
    raws = [block.raw for block in blocks]
    calibrated = [block.calibrated for block in blocks]
    ranking = stats.correlation_shift_test(ys, raws, rank=True, draws=DRAWS, seed=seed)
    per_fold = [stats.correlation_shift_test(block.y, block.raw) for block in blocks]
    observed, nulls = [], []
    for block, test in zip(blocks, per_fold, strict=True):
        gain, null = filter_shift_test(block, test.margin)
        observed.append(gain)
        nulls.append(null)
    rng = np.random.default_rng(seed)
    pooled_null = np.mean([null[rng.integers(null.size, size=DRAWS)] for null in nulls], axis=0)
    mean_gain = float(np.mean(observed))
    scales = [block.scale for block in blocks]
    evidence = {
        "rows": int(sum(y.size for y in ys)),
        "blocks": len(blocks),
        **_settings(seed),
        "intervals": {
            "rank_ic": _interval(ys, calibrated, seed, rank=True),
            "ic": _interval(ys, calibrated, seed + 1, rank=False),
            "raw_rank_ic": _interval(ys, raws, seed + 2, rank=True),
            "sharpe": {
                book: stats.mean_sharpe_interval(
                    [block.returns(book) for block in blocks], scale=scales, level=LEVEL,
                    reps=REPS, seed=seed + 3 + 10 * number,
                ).to_dict()
                for number, book in enumerate(BOOKS)
            },
            "sharpe_gain": _mean_gain_interval(blocks, seed),
        },
        "ranking": ranking.to_dict(),
        "filter": {
            "observed": mean_gain,
            "p_value": finite_or_none(stats.shift_p_value(mean_gain, pooled_null)),
            "null_size": DRAWS,
            "exposure": float(np.mean([result_exposure(b.backtest) for b in blocks])),
        },
        "psr": {
            book: _psr(np.concatenate([block.returns(book) for block in blocks]))
            for book in ("q_filtered", "strategy")
        },
        "folds": {
            "raw_rank_ic": [finite_or_none(test.observed) for test in per_fold],
            "p_value": [finite_or_none(test.p_value) for test in per_fold],
            "sharpe_gain": observed,
        },
    }
    return _with_verdict(evidence)


def run_evidence(
    test: dict[str, Any], walk_forward: dict[str, Any] | None, folds: int | None
) -> dict[str, Any]:
    """A run's evidence section: the test split's evidence, the walk-forward's pooled one
    (or None) and the headline ``verdict`` and its ``scope``: the pooled folds when the
    run has them, else the test split."""
    if walk_forward is not None:
        scope = f"walk-forward, {folds} folds pooled"
        headline = walk_forward
    else:
        scope, headline = "test split", test
    return {
        "scope": scope,
        "verdict": headline["verdict"],
        "skill": headline["skill"],
        "test": test,
        "walk_forward": walk_forward,
    }


def result_exposure(result: BacktestResult) -> float | None:
    """The Q-filtered book's exposure (share of bar intervals in a position)."""
    value = result.metrics["q_filtered"].get("exposure")
    return None if value is None else float(value)


def _with_verdict(evidence: dict[str, Any]) -> dict[str, Any]:
    p = evidence["ranking"]["p_value"]
    evidence["skill"] = p is not None and p < ALPHA
    evidence["verdict"] = verdict(evidence)
    return evidence


def _settings(seed: int) -> dict[str, Any]:
    return {"level": LEVEL, "reps": REPS, "alpha": ALPHA, "seed": seed}


def _interval(
    y: np.ndarray | list[np.ndarray], q: np.ndarray | list[np.ndarray], seed: int, *, rank: bool
) -> dict[str, Any]:
    return stats.correlation_interval(y, q, rank=rank, level=LEVEL, reps=REPS, seed=seed).to_dict()


def _gain_interval(block: TestBlock, seed: int) -> dict[str, Any]:
    """The interval of the Q-filter's Sharpe gain, both books resampled on the same bars
    (block length from the difference of their returns)."""
    value, replicates, block_size = _gain_replicates(block, seed)
    low, high = stats.percentile_interval(replicates, LEVEL)
    return stats.Interval(value, low, high, LEVEL, block_size, REPS).to_dict()


def _mean_gain_interval(blocks: Sequence[TestBlock], seed: int) -> dict[str, Any]:
    """The interval of the blocks' mean Sharpe gain: replicate r averages replicate r of
    each block (each resampled on its own)."""
    parts = [_gain_replicates(block, seed + 7 * number) for number, block in enumerate(blocks)]
    replicates = np.mean([part[1] for part in parts], axis=0)
    low, high = stats.percentile_interval(replicates, LEVEL)
    value = float(np.mean([part[0] for part in parts]))
    return stats.Interval(
        value, low, high, LEVEL, float(np.mean([part[2] for part in parts])), REPS
    ).to_dict()


def _gain_replicates(block: TestBlock, seed: int) -> tuple[float, np.ndarray, float]:
    """The annualised Sharpe gain, its bootstrap replicates and their block length."""
    filtered, strategy = block.returns("q_filtered"), block.returns("strategy")
    difference = filtered - strategy
    block_size = stats.block_length(difference) if np.ptp(difference) > 0 else 1.0

    columns = np.hstack((stats.sharpe_columns(filtered), stats.sharpe_columns(strategy)))
    sums = stats.bootstrap_sums(columns, filtered.size, block_size, reps=REPS, seed=seed + 7)
    sharpe = [
        np.nan_to_num(stats.sharpe_of_sums(part, float(filtered.size), r), nan=0.0)
        for part, r in ((sums[:, :2], filtered), (sums[:, 2:], strategy))
    ]
    replicates = (sharpe[0] - sharpe[1]) * block.scale
    value = float(_sharpe(filtered[None, :])[0] - _sharpe(strategy[None, :])[0]) * block.scale
    return value, replicates, block_size


def _psr(returns: np.ndarray) -> float | None:
    """PSR against 0 of per-bar returns; None for a book that never moved."""
    if np.ptp(returns) == 0:
        return None
    sample = stats.sharpe_sample(returns)
    return finite_or_none(
        stats.probabilistic_sharpe_ratio(
            sample.sharpe, sample.n_obs, skew=sample.skew, kurtosis=sample.kurtosis
        )
    )
