"""Evidence of skill (docs/model.md, "Evidence"): for a test block, or the test blocks of
a walk-forward pooled, the intervals of what a result reports and two tests against
"no skill", summed up in one verdict line.

* Intervals (95 %, stationary bootstrap, block lengths from the data, seeded by the run's
  seed): the calibrated Q's rank IC and IC, the raw Q's rank IC, each book's annualised
  Sharpe ratio, and the Q-filter's Sharpe gain over the strategy (both books resampled on
  the same bars).
* Ranking test: the raw Q's rank IC (what the Q-filter ranks) against the raw Q circularly
  shifted within the block (``ssots.stats.correlation_shift_test``).
* Filter test: the Q-filtered book's Sharpe minus the strategy's against the same gain of
  filters placed by the shifted raw Q with the same threshold: the same number of calls
  taken (the same exposure), at unrelated places. Books are simulated with the backtest's
  own accounting (``backtest.equity_paths``).
* The probabilistic Sharpe ratio of the Q-filtered and the strategy's book (per-bar
  returns, benchmark 0).

``verdict`` writes the one line every interface shows; its decision is the ranking test
at ``ALPHA`` (or its Benjamini-Hochberg adjusted p-value in a report of many runs).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ssots import stats
from ssots.backtest import BacktestResult, bar_returns, equity_paths, periods_per_year

__all__ = [
    "ALPHA",
    "DRAWS",
    "FILTER_SHIFTS",
    "LEVEL",
    "NO_EVIDENCE",
    "REPS",
    "TestBlock",
    "block_evidence",
    "evidence_rows",
    "filter_shift_test",
    "format_p",
    "headline",
    "headline_section",
    "pooled_evidence",
    "report_verdicts",
    "run_evidence",
    "verdict",
]

LEVEL = 0.95
"""Coverage of every interval."""
REPS = 1000
"""Bootstrap resamples per interval."""
ALPHA = 0.05
"""A p-value below this is evidence against "no skill"."""
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
            "p_value": _none_if_nan(stats.shift_p_value(observed, null)),
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
            "p_value": _none_if_nan(stats.shift_p_value(mean_gain, pooled_null)),
            "null_size": DRAWS,
            "exposure": float(np.mean([result_exposure(b.backtest) for b in blocks])),
        },
        "psr": {
            book: _psr(np.concatenate([block.returns(book) for block in blocks]))
            for book in ("q_filtered", "strategy")
        },
        "folds": {
            "raw_rank_ic": [_none_if_nan(test.observed) for test in per_fold],
            "p_value": [_none_if_nan(test.p_value) for test in per_fold],
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


def format_p(p: float) -> str:
    """A p-value for people: two significant digits (``0.41``, ``0.003``)."""
    return f"{p:.2g}" if p >= 0.001 else f"{p:.1g}"


def verdict(evidence: Mapping[str, Any], *, adjusted_p: float | None = None) -> str:
    """The one-line verdict of an evidence section (``block_evidence``,
    ``pooled_evidence``), e.g. ``evidence of skill: rank IC 0.12 [0.05, 0.19], p = 0.003``.

    Args:
        evidence: the section.
        adjusted_p: the ranking p-value adjusted for the other runs of a report
            (Benjamini-Hochberg); the decision then uses it.

    Returns:
        The line: whether the raw Q's rank IC is evidence of skill (p below ``ALPHA``),
        the rank IC with its interval and p-value, what the Q-filter's Sharpe gain says,
        and for pooled folds the per-fold spread.
    """
    ranking, interval = evidence["ranking"], evidence["intervals"]["raw_rank_ic"]
    p = ranking["p_value"] if adjusted_p is None else adjusted_p
    gain = evidence["filter"]
    if p is None or interval["value"] is None:
        line = "no evidence of skill: the rank IC is undefined (the Q-score or labels are constant)"
        return line + _spread(evidence)
    p_text = f"p = {format_p(p)}" + ("" if adjusted_p is None else " (BH-adjusted)")
    ic = f"rank IC {interval['value']:.2f} {_bracket(interval)}, {p_text}"
    gain_p = gain["p_value"]
    filter_significant = gain_p is not None and gain_p < ALPHA
    gain_text = f"{gain['observed']:+.2f}" if gain["observed"] is not None else "undefined"
    if p < ALPHA:
        if filter_significant:
            tail = (
                f"; the Q-filter's Sharpe gain {gain_text} beats shifted filters "
                f"(p = {format_p(gain_p)})"
            )
        else:
            tail = (
                f"; the Q-filter's Sharpe gain {gain_text} is not significant"
                + ("" if gain_p is None else f" (p = {format_p(gain_p)})")
            )
        return f"evidence of skill: {ic}{tail}" + _spread(evidence)
    if filter_significant:
        tail = (
            f"; the Q-filter's Sharpe gain {gain_text} beats shifted filters "
            f"(p = {format_p(gain_p)}) without a ranking behind it"
        )
    else:
        tail = (
            ": this filter is indistinguishable from a random one with the same exposure"
            + ("" if gain_p is None else f" (Sharpe gain {gain_text}, p = {format_p(gain_p)})")
        )
    return f"no evidence of skill: {ic}{tail}" + _spread(evidence)


def _spread(evidence: Mapping[str, Any]) -> str:
    """``; by fold: rank IC -0.03 .. 0.08, p < 0.05 in 1 of 5`` for pooled folds."""
    folds = evidence.get("folds")
    if not folds:
        return ""
    values = [v for v in folds["raw_rank_ic"] if v is not None]
    significant = sum(1 for p in folds["p_value"] if p is not None and p < ALPHA)
    if not values:
        return ""
    return (
        f"; by fold: rank IC {min(values):.2f} .. {max(values):.2f}, positive in "
        f"{sum(v > 0 for v in values)} of {len(folds['raw_rank_ic'])}, p < {ALPHA} in "
        f"{significant}"
    )


def _bracket(interval: Mapping[str, Any]) -> str:
    if interval["low"] is None or interval["high"] is None:
        return "[no interval]"
    return f"[{interval['low']:.2f}, {interval['high']:.2f}]"


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

    def gain(counts: np.ndarray) -> np.ndarray:
        sharpe = [np.nan_to_num(stats.weighted_sharpe(counts, r), nan=0.0)
                  for r in (filtered, strategy)]
        return sharpe[0] - sharpe[1]

    replicates = stats.bootstrap_replicates(
        gain, filtered.size, block_size, reps=REPS, seed=seed + 7
    ) * block.scale
    value = float(_sharpe(filtered[None, :])[0] - _sharpe(strategy[None, :])[0]) * block.scale
    return value, replicates, block_size


def _psr(returns: np.ndarray) -> float | None:
    """PSR against 0 of per-bar returns; None for a book that never moved."""
    if np.ptp(returns) == 0:
        return None
    sample = stats.sharpe_sample(returns)
    return _none_if_nan(
        stats.probabilistic_sharpe_ratio(
            sample.sharpe, sample.n_obs, skew=sample.skew, kurtosis=sample.kurtosis
        )
    )


def _none_if_nan(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


NO_EVIDENCE = "no evidence recorded: this result was made before SSO-TS computed evidence"
"""What readers show for a weights document or run without an evidence section."""


def headline(document: Mapping[str, Any] | None) -> str:
    """The verdict a weights document (or a run's weights) records, with its scope
    (``walk-forward, 5 folds pooled: ...``), or ``NO_EVIDENCE``."""
    found = (document or {}).get("evidence")
    if not found:
        return NO_EVIDENCE
    return f"{found['scope']}: {found['verdict']}"


EVIDENCE_ROWS: tuple[tuple[str, str], ...] = (
    ("raw_rank_ic", "rank IC (raw Q)"),
    ("rank_ic", "rank IC (calibrated Q)"),
    ("ic", "IC (calibrated Q)"),
)
"""The correlation intervals of an evidence section and how tables name them."""


def evidence_rows(section: Mapping[str, Any]) -> list[dict[str, Any]]:
    """An evidence section as table rows for every interface: ``statistic``, ``value``,
    ``low``, ``high`` (the interval, None when undefined) and ``test`` (a p-value or PSR
    in words, or None)."""
    intervals = section["intervals"]
    ranking_p = section["ranking"]["p_value"]
    rows = [
        {
            "statistic": title,
            **_ends(intervals[key]),
            "test": f"p = {format_p(ranking_p)}" if key == "raw_rank_ic" and ranking_p else None,
        }
        for key, title in EVIDENCE_ROWS
    ]
    psr = section.get("psr", {})
    for book, title in (("strategy", "strategy"), ("q_filtered", "Q-filtered"),
                        ("buy_and_hold", "buy & hold")):
        value = psr.get(book)
        rows.append(
            {
                "statistic": f"Sharpe {title}",
                **_ends(intervals["sharpe"][book]),
                "test": None if value is None else f"PSR {value:.2f}",
            }
        )
    gain = section["filter"]
    gain_interval = intervals.get("sharpe_gain") or {"value": gain["observed"]}
    rows.append(
        {
            "statistic": "Sharpe gain of the Q-filter"
            + (" (mean of folds)" if "folds" in section else ""),
            **_ends(gain_interval),
            "test": None if gain["p_value"] is None else f"p = {format_p(gain['p_value'])}",
        }
    )
    return rows


def _ends(interval: Mapping[str, Any]) -> dict[str, Any]:
    return {key: interval.get(key) for key in ("value", "low", "high")}


def headline_section(found: Mapping[str, Any]) -> Mapping[str, Any]:
    """The section a run's verdict comes from (``run_evidence``): the pooled folds when
    it has them, else the test split."""
    return found["walk_forward"] or found["test"]


def report_verdicts(sections: Sequence[Mapping[str, Any] | None]) -> list[dict[str, Any] | None]:
    """Verdicts for the runs of one report (a comparison, docs/results.md) with
    Benjamini-Hochberg control of the false discovery rate across them.

    Args:
        sections: each run's evidence section (``block_evidence`` or ``pooled_evidence``),
            or None for a run without one.

    Returns:
        Per run (None where there was no section): ``p_value`` (its ranking test),
        ``adjusted_p`` (BH over the runs with a p-value), ``skill`` (adjusted p below
        ``ALPHA``) and ``verdict`` (``verdict`` with the adjusted p-value).
    """
    p_values = [
        math.nan if s is None or s["ranking"]["p_value"] is None else s["ranking"]["p_value"]
        for s in sections
    ]
    adjusted = stats.benjamini_hochberg(p_values)
    out: list[dict[str, Any] | None] = []
    for section, p, q in zip(sections, p_values, adjusted, strict=True):
        if section is None:
            out.append(None)
            continue
        q_value = _none_if_nan(float(q))
        out.append(
            {
                "p_value": _none_if_nan(p),
                "adjusted_p": q_value,
                "skill": q_value is not None and q_value < ALPHA,
                "verdict": verdict(section, adjusted_p=q_value),
            }
        )
    return out
