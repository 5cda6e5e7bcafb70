"""Statistics of results: how much a result can be trusted.

* ``_sharpe``: the Sharpe ratio's sample moments, the probabilistic, expected-maximum and
  deflated Sharpe ratios (Bailey and Lopez de Prado).
* ``_blocks``: the bootstrap block length chosen from the data (Politis and White).
* ``_bootstrap``: the stationary bootstrap (Politis and Romano) and percentile intervals.
* ``_intervals``: intervals of a correlation (IC, rank IC) and of Sharpe ratios.
* ``_shifts``: circular-shift tests against "no skill".
* ``_fdr``: Benjamini-Hochberg adjusted p-values.

NumPy only at import (SciPy's ``rankdata`` loads when ranks are first needed).
"""

from ssots.stats._blocks import block_length, politis_white
from ssots.stats._bootstrap import (
    Interval,
    bootstrap_replicates,
    bootstrap_sums,
    grouped_indices,
    indices_from_draws,
    percentile_interval,
    stationary_counts,
    stationary_indices,
    stationary_sums,
)
from ssots.stats._fdr import benjamini_hochberg
from ssots.stats._intervals import (
    correlation,
    correlation_columns,
    correlation_interval,
    correlation_of_sums,
    mean_sharpe_interval,
    ranks,
    rows_correlation,
    rows_sharpe,
    sharpe_columns,
    sharpe_interval,
    sharpe_of_sums,
    weighted_correlation,
    weighted_sharpe,
)
from ssots.stats._sharpe import (
    EULER_GAMMA,
    SharpeSample,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    sharpe_sample,
)
from ssots.stats._shifts import (
    ShiftTest,
    allowed_shifts,
    circular_cross_products,
    correlation_shift_test,
    shift_margin,
    shift_p_value,
)

__all__ = [
    "EULER_GAMMA",
    "Interval",
    "SharpeSample",
    "ShiftTest",
    "allowed_shifts",
    "benjamini_hochberg",
    "block_length",
    "bootstrap_replicates",
    "bootstrap_sums",
    "circular_cross_products",
    "correlation",
    "correlation_columns",
    "correlation_interval",
    "correlation_of_sums",
    "correlation_shift_test",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "grouped_indices",
    "indices_from_draws",
    "mean_sharpe_interval",
    "percentile_interval",
    "politis_white",
    "probabilistic_sharpe_ratio",
    "ranks",
    "rows_correlation",
    "rows_sharpe",
    "sharpe_columns",
    "sharpe_interval",
    "sharpe_of_sums",
    "sharpe_sample",
    "shift_margin",
    "shift_p_value",
    "stationary_counts",
    "stationary_indices",
    "stationary_sums",
    "weighted_correlation",
    "weighted_sharpe",
]
