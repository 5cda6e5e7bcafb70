"""Benjamini-Hochberg control of the false discovery rate across many tests (the runs of
a report): with m p-values sorted p_(1) <= .. <= p_(m), the adjusted value of p_(i) is
min over j >= i of m p_(j) / j (at most 1); rejecting where the adjusted value is below q
keeps the expected share of false rejections at or below q (Benjamini and Hochberg, JRSS B
57, 1995; valid for independent or positively dependent tests)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["benjamini_hochberg"]


def benjamini_hochberg(p_values: npt.ArrayLike) -> np.ndarray:
    """The Benjamini-Hochberg adjusted p-values, in the order given.

    Args:
        p_values: p-values in [0, 1]; NaN entries (tests that could not be made) stay NaN
            and do not count among the m tests.

    Returns:
        The adjusted p-values (``scipy.stats.false_discovery_control`` on the finite ones).
    """
    values = np.asarray(p_values, dtype=np.float64)
    adjusted = np.full(values.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(values))
    if finite.size == 0:
        return adjusted
    order = finite[np.argsort(values[finite], kind="stable")]
    m = order.size
    scaled = values[order] * m / np.arange(1, m + 1)
    adjusted[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return adjusted
