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
from ssots.stats._bootstrap import Interval, bootstrap_sums, percentile_interval

__all__ = [
    "as_groups",
    "correlation",
    "correlation_columns",
    "correlation_interval",
    "correlation_of_sums",
    "mean_sharpe_interval",
    "ranks",
    "rows_correlation",
    "rows_sharpe",
    "sharpe_columns",
    "sharpe_interval",
    "sharpe_of_sums",
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


def correlation_columns(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The columns whose resampled sums give a correlation (``correlation_of_sums``):
    x and y centred, their product and squares."""
    xc, yc = x - x.mean(), y - y.mean()
    return np.column_stack((xc, yc, xc * yc, xc * xc, yc * yc))


def correlation_of_sums(sums: np.ndarray, total: float, columns: np.ndarray) -> np.ndarray:
    """Pearson correlation of each resample from its sums of ``correlation_columns``
    (``total`` rows each); NaN where a resample is constant."""
    sx, sy, sxy, sxx, syy = np.asarray(sums).T
    cov = sxy - sx * sy / total
    vx, vy = sxx - sx * sx / total, syy - sy * sy / total
    full_x, full_y = columns[:, 3].sum(), columns[:, 4].sum()
    varies = (vx > _TINY * full_x) & (vy > _TINY * full_y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(varies, cov / np.sqrt(vx * vy), np.nan)


def sharpe_columns(returns: np.ndarray) -> np.ndarray:
    """The columns whose resampled sums give a Sharpe ratio: the returns centred and
    squared."""
    rc = returns - returns.mean()
    return np.column_stack((rc, rc * rc))


def sharpe_of_sums(sums: np.ndarray, total: float, returns: np.ndarray) -> np.ndarray:
    """Mean over sample standard deviation of each resample from its sums of
    ``sharpe_columns(returns)``; NaN where a resample is constant."""
    s1, s2 = np.asarray(sums).T
    centre = returns.mean()
    variance = (s2 - s1 * s1 / total) / (total - 1.0)
    full = float(np.sum((returns - centre) ** 2))
    varies = variance * (returns.size - 1) > _TINY * full
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(varies, (centre + s1 / total) / np.sqrt(variance), np.nan)


def weighted_correlation(counts: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of ``x`` and ``y`` in each resample given by a row of
    ``counts`` (how often each row appears); NaN where a resample is constant."""
    columns = correlation_columns(x, y)
    return correlation_of_sums(counts @ columns, counts.sum(axis=1), columns)


def weighted_sharpe(counts: np.ndarray, returns: np.ndarray) -> np.ndarray:
    """Mean over sample standard deviation of ``returns`` in each resample given by a row
    of ``counts``; NaN where a resample is constant."""
    return sharpe_of_sums(counts @ sharpe_columns(returns), counts.sum(axis=1), returns)


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
    columns = correlation_columns(pooled_x, pooled_y)
    sums = bootstrap_sums(columns, sizes, blocks, reps=reps, seed=seed)
    replicates = correlation_of_sums(sums, float(pooled_x.size), columns)
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
        sums = bootstrap_sums(
            sharpe_columns(returns), returns.size, block, reps=reps, seed=seed + number
        )
        replicates = sharpe_of_sums(sums, float(returns.size), returns)
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
