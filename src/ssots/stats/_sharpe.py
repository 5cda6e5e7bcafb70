"""The Sharpe ratio statistics: how much a Sharpe ratio can be trusted.

Every Sharpe ratio here is per observation (not annualised): the mean of the per-bar
returns over their standard deviation. Kurtosis is the plain (not excess) kurtosis, 3 for
normal returns. The formulas are those of Bailey and Lopez de Prado, "The Sharpe Ratio
Efficient Frontier" (2012) for the probabilistic Sharpe ratio and "The Deflated Sharpe
Ratio" (2014) for the deflated one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

EULER_GAMMA = 0.5772156649015329
"""The Euler-Mascheroni constant of the expected-maximum approximation."""

_NORMAL = NormalDist()


@dataclass(frozen=True)
class SharpeSample:
    """The per-observation Sharpe ratio of a return series with the moments its
    uncertainty depends on."""

    sharpe: float
    n_obs: int
    skew: float
    kurtosis: float


def sharpe_sample(returns: npt.ArrayLike) -> SharpeSample:
    """Measure a return series.

    Args:
        returns: per-bar returns (NaN entries are dropped).

    Returns:
        The Sharpe ratio (sample standard deviation), the number of finite returns, and
        their skewness and plain kurtosis (0 and 3 when the returns do not vary).

    Raises:
        ValueError: fewer than two finite returns.
    """
    values = np.asarray(returns, dtype=float)
    values = values[np.isfinite(values)]
    if values.size < 2:
        raise ValueError(f"`returns` needs at least 2 finite values, got {values.size}")
    centred = values - values.mean()
    spread = centred.std(ddof=1)
    if spread == 0.0:
        return SharpeSample(0.0, int(values.size), 0.0, 3.0)
    population = centred.std()
    skew = float(np.mean(centred**3) / population**3)
    kurtosis = float(np.mean(centred**4) / population**4)
    return SharpeSample(float(values.mean() / spread), int(values.size), skew, kurtosis)


def probabilistic_sharpe_ratio(
    sharpe: float,
    n_obs: int,
    *,
    skew: float = 0.0,
    kurtosis: float = 3.0,
    benchmark: float = 0.0,
) -> float:
    """The probability that the true Sharpe ratio exceeds ``benchmark`` given the observed
    one (PSR, Bailey and Lopez de Prado 2012, eq. 11).

    Args:
        sharpe: the observed per-observation Sharpe ratio.
        n_obs: how many returns it was measured on (at least 2).
        skew: the returns' skewness.
        kurtosis: the returns' plain kurtosis (3 for normal returns).
        benchmark: the per-observation Sharpe ratio to beat.

    Returns:
        A probability in [0, 1].

    Raises:
        ValueError: ``n_obs`` below 2.
    """
    if n_obs < 2:
        raise ValueError(f"`n_obs` must be at least 2, got {n_obs}")
    variance = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    # Extreme moments can make the first-order variance negative; it is then useless.
    if variance <= 0.0:
        return math.nan
    return _NORMAL.cdf((sharpe - benchmark) * math.sqrt(n_obs - 1) / math.sqrt(variance))


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """The expected largest of ``n_trials`` Sharpe ratios whose true value is zero
    (Bailey and Lopez de Prado 2014, eq. 2): what the best of that many tries reaches by
    luck alone.

    Args:
        n_trials: how many independent configurations were tried (at least 1).
        sharpe_variance: the variance of their (per-observation) Sharpe ratios.

    Returns:
        The expected maximum; 0 for a single trial.

    Raises:
        ValueError: ``n_trials`` below 1 or a negative variance.
    """
    if n_trials < 1:
        raise ValueError(f"`n_trials` must be at least 1, got {n_trials}")
    if sharpe_variance < 0.0:
        raise ValueError(f"`sharpe_variance` must be >= 0, got {sharpe_variance}")
    if n_trials == 1:
        return 0.0
    first = _NORMAL.inv_cdf(1.0 - 1.0 / n_trials)
    second = _NORMAL.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
    return math.sqrt(sharpe_variance) * ((1.0 - EULER_GAMMA) * first + EULER_GAMMA * second)


def deflated_sharpe_ratio(
    sample: SharpeSample, *, n_trials: int, sharpe_variance: float
) -> float:
    """The probabilistic Sharpe ratio of the best of ``n_trials`` tries against the
    maximum that luck alone would give (DSR, Bailey and Lopez de Prado 2014, eq. 3).

    Args:
        sample: the selected configuration's Sharpe ratio and moments.
        n_trials: how many configurations were tried.
        sharpe_variance: the variance of the tried configurations' Sharpe ratios.

    Returns:
        A probability in [0, 1]; above 0.95 the selection is unlikely to be luck.

    Raises:
        ValueError: as :func:`expected_max_sharpe` and :func:`probabilistic_sharpe_ratio`.
    """
    return probabilistic_sharpe_ratio(
        sample.sharpe,
        sample.n_obs,
        skew=sample.skew,
        kurtosis=sample.kurtosis,
        benchmark=expected_max_sharpe(n_trials, sharpe_variance),
    )
