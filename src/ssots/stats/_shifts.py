"""Circular-shift tests against "no skill".

Shifting a score series circularly against the labels (row t of the labels meets the
score of row t - s, wrapping around) keeps both series' own dependence and distribution
and destroys only their alignment: the shifted scores are what an unrelated score of the
same kind would look like. The observed statistic is compared with its values at the
shifts s in [margin, n - margin] (shifts closer to 0 than ``margin`` still carry much of
the alignment of a smooth series); the one-sided p-value is

    p = (1 + #{shifts whose statistic >= the observed one}) / (1 + #shifts),

which cannot be 0. For a correlation all n shifts cost one FFT. Several groups (the test
blocks of a walk-forward) are shifted each within itself, by independent random shifts;
the pooled statistic is then drawn ``draws`` times.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ssots.stats._blocks import block_length
from ssots.stats._intervals import as_groups, ranks

__all__ = [
    "ShiftTest",
    "allowed_shifts",
    "circular_cross_products",
    "correlation_shift_test",
    "shift_margin",
    "shift_p_value",
]

MAX_MARGIN_SHARE = 0.25
"""The margin never exceeds this share of the rows, so that at least half the shifts
remain."""


@dataclass(frozen=True)
class ShiftTest:
    """The result of a circular-shift test.

    Attributes:
        observed: the statistic on the aligned series.
        p_value: one-sided, large observed values being evidence against "no skill".
        null_size: how many shifted statistics it was compared with.
        margin: the fewest rows a shift moves.
    """

    observed: float
    p_value: float
    null_size: int
    margin: int

    def to_dict(self) -> dict[str, float | int | None]:
        """JSON-ready; NaN becomes None."""
        return {
            "observed": self.observed if math.isfinite(self.observed) else None,
            "p_value": self.p_value if math.isfinite(self.p_value) else None,
            "null_size": self.null_size,
            "margin": self.margin,
        }


def shift_p_value(observed: float, null: npt.ArrayLike) -> float:
    """``(1 + #{null >= observed}) / (1 + #null)`` over the finite null values (NaN when
    the observed value is NaN or no null value is finite)."""
    values = np.asarray(null, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not math.isfinite(observed) or values.size == 0:
        return math.nan
    # a tiny tolerance: a shift that reproduces the observed value ties with it
    ties = observed - 1e-12 * max(1.0, abs(observed))
    return float((1 + np.count_nonzero(values >= ties)) / (1 + values.size))


def shift_margin(*series: npt.ArrayLike) -> int:
    """The fewest rows a shift moves: the longest ``block_length`` of the series (their
    dependence length), rounded up, at least 1 and at most ``MAX_MARGIN_SHARE`` of the
    rows."""
    n = min(np.size(part) for part in series)
    longest = max(block_length(part) if np.ptp(part) > 0 else 1.0 for part in series)
    return int(max(1, min(math.ceil(longest), int(n * MAX_MARGIN_SHARE))))


def allowed_shifts(n: int, margin: int) -> np.ndarray:
    """The shifts s in [margin, n - margin]."""
    return np.arange(margin, n - margin + 1)


def circular_cross_products(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``c[s] = sum_t x[t] y[(t - s) mod n]`` for every shift s (one FFT): the
    numerator of the correlation of ``x`` with ``np.roll(y, s)`` once both are
    centred."""
    spectrum = np.fft.rfft(x) * np.conj(np.fft.rfft(y))
    return np.fft.irfft(spectrum, x.size)


def correlation_shift_test(
    labels: npt.ArrayLike | Sequence[npt.ArrayLike],
    scores: npt.ArrayLike | Sequence[npt.ArrayLike],
    *,
    rank: bool = True,
    draws: int = 999,
    seed: int = 0,
) -> ShiftTest:
    """Does ``scores`` rank ``labels`` better than circularly shifted scores do?

    Args:
        labels, scores: two series of equal length, or two lists of series (groups, each
            shifted within itself; the statistic is the correlation of all rows pooled).
        rank: test the rank correlation (Spearman; ranks over all rows pooled).
        draws: for several groups, how many random combinations of shifts.
        seed: the random generator's seed (several groups only).

    Returns:
        The ``ShiftTest`` of the (rank) correlation.
    """
    ys, qs = as_groups(labels), as_groups(scores)
    sizes = [part.size for part in ys]
    y, q = np.concatenate(ys), np.concatenate(qs)
    if rank:
        y, q = ranks(y), ranks(q)
    yc, qc = y - y.mean(), q - q.mean()
    scale = math.sqrt(float(yc @ yc) * float(qc @ qc))
    bounds = np.cumsum([0, *sizes])
    parts = [(yc[a:b], qc[a:b]) for a, b in itertools.pairwise(bounds)]
    margins = [shift_margin(part_y, part_q) for part_y, part_q in parts]
    if scale == 0.0:
        return ShiftTest(math.nan, math.nan, 0, max(margins))
    products = [circular_cross_products(part_y, part_q) for part_y, part_q in parts]
    observed = float(sum(c[0] for c in products)) / scale
    if len(parts) == 1:
        null = products[0][allowed_shifts(sizes[0], margins[0])] / scale
    else:
        rng = np.random.default_rng(seed)
        null = np.zeros(draws)
        for c, size, margin in zip(products, sizes, margins, strict=True):
            null += c[rng.choice(allowed_shifts(size, margin), size=draws)]
        null /= scale
    return ShiftTest(observed, shift_p_value(observed, null), int(null.size), max(margins))

