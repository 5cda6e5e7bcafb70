"""Bootstrap intervals of the statistics a result reports: a correlation (IC, or rank IC
on ranks) and a Sharpe ratio, for one series or for several resampled group by group.

Block lengths come from the data (``block_length``): for a Sharpe ratio from the returns
themselves; for a correlation from the products of the two standardised series, the terms
whose mean is the correlation (its dependence is what the resamples must keep). A rank
correlation is the correlation of the ranks of the whole block; resamples reuse those
ranks (repeated rows are not ranked again), which is the bootstrap of the same estimator
to first order.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ssots.stats._blocks import block_length
from ssots.stats._bootstrap import Interval, bootstrap_replicates, percentile_interval

__all__ = [
    "as_groups",
    "correlation",
    "correlation_interval",
    "mean_sharpe_interval",
    "ranks",
    "rows_correlation",
    "rows_sharpe",
    "sharpe_interval",
    "weighted_correlation",
    "weighted_sharpe",
]


def ranks(values: npt.ArrayLike) -> np.ndarray:
    """Average ranks (ties share their mean rank), as Spearman's correlation uses."""
    from scipy.stats import rankdata

    return rankdata(np.asarray(values, dtype=np.float64)).astype(np.float64)


def correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; NaN when either side is constant."""
    return float(rows_correlation(np.asarray(x)[None, :], np.asarray(y)[None, :])[0])


def rows_correlation(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``x`` with the same row of ``y`` (NaN where a
    row is constant: exactly, not up to the rounding of its mean)."""
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    denominator = np.sqrt(np.einsum("ij,ij->i", xc, xc) * np.einsum("ij,ij->i", yc, yc))
    varies = (np.ptp(x, axis=-1) > 0) & (np.ptp(y, axis=-1) > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.einsum("ij,ij->i", xc, yc) / denominator
    return np.where(varies & (denominator > 0), value, np.nan)


def rows_sharpe(returns: np.ndarray) -> np.ndarray:
    """Mean over sample standard deviation of each row (NaN where a row is constant)."""
    spread = returns.std(axis=-1, ddof=1)
    varies = np.ptp(returns, axis=-1) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(varies & (spread > 0), returns.mean(axis=-1) / spread, np.nan)


_TINY = 1e-12
"""A weighted variance at or below this share of the series' own is a constant resample."""


def weighted_correlation(counts: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of ``x`` and ``y`` in each resample given by a row of
    ``counts`` (how often each row appears); NaN where a resample is constant."""
    xc, yc = x - x.mean(), y - y.mean()
    moments = counts @ np.column_stack((xc, yc, xc * yc, xc * xc, yc * yc))
    total = counts.sum(axis=1)
    sx, sy, sxy, sxx, syy = moments.T
    cov = sxy - sx * sy / total
    vx, vy = sxx - sx * sx / total, syy - sy * sy / total
    varies = (vx > _TINY * float(xc @ xc)) & (vy > _TINY * float(yc @ yc))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(varies, cov / np.sqrt(vx * vy), np.nan)


def weighted_sharpe(counts: np.ndarray, returns: np.ndarray) -> np.ndarray:
    """Mean over sample standard deviation of ``returns`` in each resample given by a row
    of ``counts``; NaN where a resample is constant."""
    centre = returns.mean()
    rc = returns - centre
    moments = counts @ np.column_stack((rc, rc * rc))
    total = counts.sum(axis=1)
    s1, s2 = moments.T
    variance = (s2 - s1 * s1 / total) / (total - 1.0)
    varies = variance * (returns.size - 1) > _TINY * float(rc @ rc)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(varies, (centre + s1 / total) / np.sqrt(variance), np.nan)


def correlation_interval(
    x: npt.ArrayLike | Sequence[npt.ArrayLike],
    y: npt.ArrayLike | Sequence[npt.ArrayLike],
    *,
    rank: bool = False,
    level: float = 0.95,
    reps: int = 1000,
    seed: int = 0,
) -> Interval:
    """The stationary-bootstrap interval of the (rank) correlation of ``x`` and ``y``.

    Args:
        x, y: two series of equal length, or two lists of series (groups such as
            walk-forward test blocks): the statistic is then the correlation of all
            rows pooled, and each group is resampled within itself.
        rank: correlate the ranks (Spearman; ranks over all rows pooled).
        level: the interval's coverage.
        reps: how many resamples.
        seed: the random generator's seed.

    Returns:
        The ``Interval`` (value NaN when a side is constant).
    """
    xs, ys = as_groups(x), as_groups(y)
    sizes = [part.size for part in xs]
    pooled_x, pooled_y = np.concatenate(xs), np.concatenate(ys)
    if rank:
        pooled_x, pooled_y = ranks(pooled_x), ranks(pooled_y)
    bounds = np.cumsum([0, *sizes])
    blocks = [
        _product_block(pooled_x[a:b], pooled_y[a:b])
        for a, b in itertools.pairwise(bounds)
    ]
    replicates = bootstrap_replicates(
        lambda counts: weighted_correlation(counts, pooled_x, pooled_y),
        sizes,
        blocks,
        reps=reps,
        seed=seed,
    )
    low, high = percentile_interval(replicates, level)
    value = correlation(pooled_x, pooled_y)
    return Interval(value, low, high, level, float(np.mean(blocks)), reps)


def sharpe_interval(
    returns: npt.ArrayLike,
    *,
    scale: float = 1.0,
    level: float = 0.95,
    reps: int = 1000,
    seed: int = 0,
) -> Interval:
    """The stationary-bootstrap interval of the Sharpe ratio of ``returns`` (mean over
    sample standard deviation, times ``scale``, e.g. sqrt(periods per year))."""
    return mean_sharpe_interval([returns], scale=scale, level=level, reps=reps, seed=seed)


def mean_sharpe_interval(
    groups: Sequence[npt.ArrayLike],
    *,
    scale: float | Sequence[float] = 1.0,
    level: float = 0.95,
    reps: int = 1000,
    seed: int = 0,
) -> Interval:
    """The interval of the mean of several series' Sharpe ratios (e.g. the folds of a
    walk-forward): each series is resampled on its own, with its own block length and
    scale, and replicate r of the mean averages replicate r of each series. A series that
    never varies counts as Sharpe 0, as in the walk-forward's mean Sharpe."""
    series = [np.asarray(part, dtype=np.float64) for part in groups]
    scales = [scale] * len(series) if np.isscalar(scale) else list(scale)
    total = np.zeros(reps)
    values, blocks = [], []
    for number, (returns, factor) in enumerate(zip(series, scales, strict=True)):
        block = block_length(returns) if np.ptp(returns) > 0 else 1.0
        replicates = bootstrap_replicates(
            lambda counts, r=returns: weighted_sharpe(counts, r), returns.size, block,
            reps=reps, seed=seed + number,
        )
        total += np.nan_to_num(replicates, nan=0.0) * factor
        sharpe = rows_sharpe(returns[None, :])[0]
        values.append(0.0 if np.isnan(sharpe) else sharpe * factor)
        blocks.append(block)
    if len(series) == 1 and np.isnan(rows_sharpe(series[0][None, :])[0]):
        return Interval(float("nan"), float("nan"), float("nan"), level, blocks[0], reps)
    low, high = percentile_interval(total / len(series), level)
    return Interval(float(np.mean(values)), low, high, level, float(np.mean(blocks)), reps)


def as_groups(values: npt.ArrayLike | Sequence[npt.ArrayLike]) -> list[np.ndarray]:
    """One series as a single group, or a list of series as groups."""
    if isinstance(values, list | tuple) and values and np.ndim(values[0]) == 1:
        return [np.asarray(part, dtype=np.float64) for part in values]
    return [np.asarray(values, dtype=np.float64)]


def _product_block(x: np.ndarray, y: np.ndarray) -> float:
    """The block length of the products of the standardised ``x`` and ``y``."""
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return 1.0
    product = (x - x.mean()) / x.std() * (y - y.mean()) / y.std()
    return block_length(product)
