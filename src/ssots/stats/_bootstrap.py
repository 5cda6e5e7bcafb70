"""The stationary bootstrap (Politis and Romano, JASA 89, 1994) and percentile intervals.

A resample of n rows is built from blocks: each row starts a new block with probability
p = 1 / b at a uniformly drawn row, else continues the previous block with the next row
(wrapping from the last row to the first), so block lengths are geometric with mean b and
the resample keeps the series' dependence up to about b rows. ``stationary_indices``
follows exactly the sampler of ``arch.bootstrap.StationaryBootstrap`` (same draws, same
indices) without a Python loop: the row a block started at is carried forward with a
cumulative maximum.

Statistics of sums (means, variances, correlations) depend on a resample only through how
often it repeats each row, so ``bootstrap_replicates`` draws those counts directly
(``stationary_counts``: the same process, block by block, without listing the rows) and
hands ``statistic`` a (k, n) array of counts for k resamples at once; the moments are then
one matrix product. Resamples are drawn in chunks of at most ``CHUNK_CELLS`` cells so memory
stays bounded for long blocks. Intervals are the percentile intervals of the replicates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "CHUNK_CELLS",
    "Interval",
    "bootstrap_replicates",
    "bootstrap_sums",
    "grouped_indices",
    "indices_from_draws",
    "percentile_interval",
    "stationary_counts",
    "stationary_indices",
    "stationary_sums",
]

CHUNK_CELLS = 1 << 21
"""Most resampled cells (replicates x rows) held at once."""
SUMS_BY_BLOCK = 8.0
"""From this expected block length on, ``stationary_sums`` sums block by block (fewer
blocks than cells by this factor pays for the gathers); below it, counts times columns
(measured: at block length 3.25 on 20,000 rows the counts were twice as fast)."""


@dataclass(frozen=True)
class Interval:
    """A bootstrap interval of a statistic.

    Attributes:
        value: the statistic on the data.
        low, high: the percentile interval's ends (NaN when no replicate was finite).
        level: its coverage, e.g. 0.95.
        block: the expected block length of the resamples (the mean over groups when
            several series were resampled).
        reps: how many resamples.
    """

    value: float
    low: float
    high: float
    level: float
    block: float
    reps: int

    def to_dict(self) -> dict[str, float | int | None]:
        """JSON-ready; NaN becomes None."""
        return {
            name: _finite_or_none(getattr(self, name))
            for name in ("value", "low", "high", "level", "block", "reps")
        }


def indices_from_draws(starts: np.ndarray, uniforms: np.ndarray, p: float) -> np.ndarray:
    """Stationary-bootstrap row numbers from given draws, row by row along the last axis.

    Args:
        starts: uniform integer draws in [0, n), shape (..., n): where a block started at
            a position begins.
        uniforms: uniform draws in [0, 1), same shape: position i > 0 continues the
            previous block when its draw is above ``p``.
        p: the probability of a new block, 1 / expected block length.

    Returns:
        The row numbers, same shape (what ``arch``'s ``stationary_bootstrap_sample``
        returns for each row of draws).
    """
    starts = np.asarray(starts, dtype=np.int64)
    n = starts.shape[-1]
    position = np.arange(n)
    new = np.asarray(uniforms) <= p
    new[..., 0] = True
    began = np.maximum.accumulate(np.where(new, position, 0), axis=-1)
    first = np.take_along_axis(starts, began, axis=-1)
    return (first + position - began) % n


def stationary_indices(
    n: int, block: float, reps: int, rng: np.random.Generator
) -> np.ndarray:
    """``reps`` stationary-bootstrap resamples of ``n`` rows with expected block length
    ``block``, shape (reps, n).

    The same process as ``indices_from_draws`` (a new block at each position with
    probability 1 / block, at a uniform row), drawing a start row only for the positions
    that begin a block: about half the time for the same resamples in distribution."""
    kind = np.int32 if n < 2**31 // 2 else np.int64
    new = rng.random((reps, n), dtype=np.float32) <= np.float32(1.0 / max(block, 1.0))
    new[:, 0] = True
    position = np.arange(n, dtype=kind)
    began = np.maximum.accumulate(np.where(new, position, kind(0)), axis=1)
    block_of = np.cumsum(new.ravel(), dtype=np.int64) - 1
    starts = rng.integers(n, size=int(block_of[-1]) + 1, dtype=kind)
    rows = starts[block_of].reshape(reps, n) + (position - began)
    rows[rows >= n] -= n
    return rows


def grouped_indices(
    sizes: Sequence[int], blocks: Sequence[float], reps: int, rng: np.random.Generator
) -> np.ndarray:
    """Resamples of consecutive groups of rows (e.g. walk-forward test blocks), each
    group resampled within itself with its own block length: shape (reps, sum(sizes)),
    row numbers into the concatenation."""
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    parts = [
        offset + stationary_indices(size, block, reps, rng)
        for size, block, offset in zip(sizes, blocks, offsets, strict=True)
    ]
    return np.concatenate(parts, axis=1)


def stationary_counts(
    n: int, block: float, reps: int, rng: np.random.Generator
) -> np.ndarray:
    """How often each of ``n`` rows appears in each of ``reps`` stationary-bootstrap
    resamples, shape (reps, n), floats summing to n per resample.

    The same process as ``stationary_indices``: blocks of geometric length (mean
    ``block``) starting at uniform rows, wrapping around, the last one cut at n positions;
    each block adds 1 to its rows through a difference array, so the cost is one pass over
    the cells plus one draw per block."""
    if block <= 1.0:  # every block one row: the rows are independent uniform draws
        return _iid_counts(n, reps, rng)
    replicate, origin, stop, wraps = _blocks(n, block, reps, rng)
    base = replicate * (n + 1)
    cells = reps * (n + 1)
    enter = np.bincount(np.concatenate((base + origin, base[wraps])), minlength=cells)
    enter -= np.bincount(base + stop - n * wraps, minlength=cells)
    return np.cumsum(enter.reshape(reps, n + 1), axis=1)[:, :n].astype(np.float64)


def stationary_sums(
    columns: np.ndarray, block: float, reps: int, rng: np.random.Generator
) -> np.ndarray:
    """The column sums of ``reps`` stationary-bootstrap resamples of the rows of
    ``columns`` (n, m): shape (reps, m), ``stationary_counts(...) @ columns`` from the same
    draws; for long blocks computed per block (a block's sum is a difference of suffix
    sums) instead of per cell."""
    n = columns.shape[0]
    if block < SUMS_BY_BLOCK:
        return stationary_counts(n, block, reps, rng) @ columns
    replicate, origin, stop, wraps = _blocks(n, block, reps, rng)
    suffix = np.zeros((n + 1, columns.shape[1]))
    suffix[:n] = np.cumsum(columns[::-1], axis=0)[::-1]  # suffix[t] = sum of rows t..n-1
    parts = suffix[origin] - suffix[stop - n * wraps] + np.outer(wraps, suffix[0])
    return np.stack(
        [np.bincount(replicate, weights=part, minlength=reps) for part in parts.T], axis=1
    )


def _iid_counts(n: int, reps: int, rng: np.random.Generator) -> np.ndarray:
    rows = rng.integers(n, size=(reps, n)) + (n * np.arange(reps))[:, None]
    return np.bincount(rows.ravel(), minlength=reps * n).reshape(reps, n).astype(np.float64)


def _blocks(
    n: int, block: float, reps: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The blocks of ``reps`` resamples: each block's resample, first row, first row past
    it (stop, which exceeds n when the block wraps around) and whether it wraps."""
    p = 1.0 / block
    per_rep = int(n * p + 8.0 * np.sqrt(n * p) + 16)
    lengths = rng.geometric(p, size=(reps, per_rep))
    ends = np.cumsum(lengths, axis=1)
    while (ends[:, -1] < n).any():  # rarely: more blocks for the longest resamples
        more = rng.geometric(p, size=(reps, per_rep))
        lengths = np.concatenate((lengths, more), axis=1)
        ends = np.cumsum(lengths, axis=1)
    begins = ends - lengths  # position in the resample where each block begins
    used = begins < n
    replicate = np.nonzero(used)[0]
    length = np.minimum(ends[used], n) - begins[used]
    origin = rng.integers(n, size=length.size)
    stop = origin + length
    return replicate, origin, stop, stop > n


def bootstrap_sums(
    columns: np.ndarray,
    sizes: int | Sequence[int],
    blocks: float | Sequence[float],
    *,
    reps: int,
    seed: int,
) -> np.ndarray:
    """Column sums of ``reps`` stationary-bootstrap resamples (``stationary_sums``), for
    statistics that are functions of sums (means, variances, correlations).

    Args:
        columns: (n, m) values, the rows of all groups stacked.
        sizes: the number of rows, or the sizes of groups resampled separately (their
            sums are added).
        blocks: the expected block length, or one per group.
        reps: how many resamples.
        seed: the random generator's seed; the same draws as ``bootstrap_replicates``.

    Returns:
        Shape (reps, m).
    """
    group_sizes = [sizes] if isinstance(sizes, int | np.integer) else list(sizes)
    group_blocks = [blocks] * len(group_sizes) if np.isscalar(blocks) else list(blocks)
    bounds = np.cumsum([0, *group_sizes])
    rng = np.random.default_rng(seed)
    chunk = max(1, CHUNK_CELLS // max(1, sum(group_sizes)))
    out = np.empty((reps, columns.shape[1]))
    for start in range(0, reps, chunk):
        count = min(chunk, reps - start)
        out[start : start + count] = sum(
            stationary_sums(columns[a:b], max(block, 1.0), count, rng)
            for a, b, block in zip(bounds[:-1], bounds[1:], group_blocks, strict=True)
        )
    return out


def bootstrap_replicates(
    statistic: Callable[[np.ndarray], np.ndarray],
    sizes: int | Sequence[int],
    blocks: float | Sequence[float],
    *,
    reps: int,
    seed: int,
) -> np.ndarray:
    """The statistic on ``reps`` stationary-bootstrap resamples.

    Args:
        statistic: maps a (k, n) array of row counts (``stationary_counts``; how often
            each row appears in each of k resamples) to the k statistics of those
            resamples.
        sizes: the number of rows, or the sizes of groups resampled separately (their
            counts are concatenated along the rows).
        blocks: the expected block length, or one per group.
        reps: how many resamples.
        seed: the seed of the random generator (same seed, same replicates).

    Returns:
        The ``reps`` replicates (NaN where the statistic is undefined).
    """
    group_sizes = [sizes] if isinstance(sizes, int | np.integer) else list(sizes)
    group_blocks = [blocks] * len(group_sizes) if np.isscalar(blocks) else list(blocks)
    rng = np.random.default_rng(seed)
    chunk = max(1, CHUNK_CELLS // max(1, sum(group_sizes)))
    out = np.empty(reps)
    for start in range(0, reps, chunk):
        count = min(chunk, reps - start)
        counts = np.concatenate(
            [stationary_counts(size, max(block, 1.0), count, rng)
             for size, block in zip(group_sizes, group_blocks, strict=True)],
            axis=1,
        )
        out[start : start + count] = statistic(counts)
    return out


def percentile_interval(replicates: npt.ArrayLike, level: float) -> tuple[float, float]:
    """The central ``level`` percentile interval of the finite replicates (NaN, NaN when
    there are none)."""
    values = np.asarray(replicates, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return float(low), float(high)


def _finite_or_none(value: float | int) -> float | int | None:
    return value if np.isfinite(value) else None
