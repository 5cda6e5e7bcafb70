"""Evidence of skill (docs/model.md section 9b): for a test block, or the test blocks of
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

Private modules: ``_blocks`` (computing the evidence of test blocks), ``_verdict`` (the
verdict line and the readers of evidence sections).
"""

from ssots.evidence._blocks import (
    BOOKS,
    DRAWS,
    FILTER_SHIFTS,
    LEVEL,
    REPS,
    TestBlock,
    block_evidence,
    filter_shift_test,
    pooled_evidence,
    result_exposure,
    run_evidence,
)
from ssots.evidence._verdict import (
    ALPHA,
    EVIDENCE_ROWS,
    NO_EVIDENCE,
    evidence_rows,
    finite_or_none,
    format_p,
    headline,
    headline_section,
    report_verdicts,
    verdict,
)

__all__ = [
    "ALPHA",
    "BOOKS",
    "DRAWS",
    "EVIDENCE_ROWS",
    "FILTER_SHIFTS",
    "LEVEL",
    "NO_EVIDENCE",
    "REPS",
    "TestBlock",
    "block_evidence",
    "evidence_rows",
    "filter_shift_test",
    "finite_or_none",
    "format_p",
    "headline",
    "headline_section",
    "pooled_evidence",
    "report_verdicts",
    "result_exposure",
    "run_evidence",
    "verdict",
]
