"""Calibration of the Q-score (MODEL.md section 5b): a monotone map from the raw ``Q`` to
the expected label, fitted on the training rows after training.

The raw ``Q`` has no intercept or scale, so its R^2 sits below predict-the-mean on market
data. A non-decreasing map keeps every ranking and can only merge ties, so the Q-filter
keeps thresholding the raw ``Q`` and the calibrated value is what ``predict`` reports.

Every kind is stored the same way: knots ``(q_i, y_i)`` with ``q`` increasing and ``y``
non-decreasing, evaluated by linear interpolation and held constant beyond the first and
last knot (``numpy.interp``)::

    affine     least squares y = a + b q with b >= 0: two knots at the training min/max Q
               (one knot, the training mean, when b would be <= 0)
    isotonic   scikit-learn's IsotonicRegression(out_of_bounds="clip"): its thresholds
    identity   (0, 0) and (1, 1): the raw Q itself (weights files of schema 1)

so a map read back from a weights file gives bit-identical values. The default is affine:
on the runs of docs/results.md it holds predict-the-mean's R^2 more often than isotonic,
whose steps follow the training noise (docs/model.md section 5b,
``benchmarks/compare_calibration.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ssots.errors import ParameterError

CALIBRATIONS: tuple[str, ...] = ("affine", "isotonic", "identity")
"""The kinds of calibration map."""

DEFAULT_CALIBRATION = "affine"
"""The kind the pipeline and ``QScoreRegressor`` fit (docs/model.md section 5b says why)."""


class Calibration:
    """A non-decreasing piecewise-linear map from raw ``Q`` to the expected label.

    Build one with :meth:`fit`, :meth:`identity` or :meth:`from_dict`.

    Args:
        kind: one of :data:`CALIBRATIONS` (how the knots were fitted).
        q: knot positions, strictly increasing, finite (at least one).
        y: knot values, non-decreasing, finite, as many as ``q``.

    Raises:
        ParameterError: the knots are not as above.
    """

    def __init__(self, kind: str, q: ArrayLike, y: ArrayLike) -> None:
        if kind not in CALIBRATIONS:
            raise ParameterError(
                f"calibration `kind` must be one of {', '.join(CALIBRATIONS)}; got {kind!r}"
            )
        knots_q = np.array(q, dtype=np.float64).ravel()
        knots_y = np.array(y, dtype=np.float64).ravel()
        if (
            knots_q.size < 1
            or knots_q.size != knots_y.size
            or not (np.isfinite(knots_q).all() and np.isfinite(knots_y).all())
            or np.any(np.diff(knots_q) <= 0)
            or np.any(np.diff(knots_y) < 0)
        ):
            raise ParameterError(
                "calibration knots must be as many finite `y` as `q`, with `q` strictly "
                "increasing and `y` non-decreasing, e.g. q=[0, 1], y=[0.4, 0.6]"
            )
        self.kind = kind
        self._q = knots_q
        self._y = knots_y

    @classmethod
    def identity(cls) -> Calibration:
        """The map that returns the raw ``Q`` (which lies in [0, 1])."""
        return cls("identity", [0.0, 1.0], [0.0, 1.0])

    @classmethod
    def fit(
        cls,
        q: ArrayLike,
        y: ArrayLike,
        kind: str = DEFAULT_CALIBRATION,
        bounds: tuple[float, float] | None = None,
    ) -> Calibration:
        """Fit a map from raw ``q`` to labels ``y`` (the training rows only).

        Args:
            q: raw Q, one per training row.
            y: the rows' labels.
            kind: ``isotonic``, ``affine`` or ``identity`` (then ``q`` and ``y`` are unused).
            bounds: ``(low, high)`` the calibrated values are clipped to, e.g. ``(0, 1)``
                for Q-score labels; None for the range of ``y``.

        Raises:
            ParameterError: unknown ``kind``; ``q`` and ``y`` are not finite 1-D arrays of
                the same non-zero length.
        """
        if kind not in CALIBRATIONS:
            raise ParameterError(
                f"calibration `kind` must be one of {', '.join(CALIBRATIONS)}; got {kind!r}"
            )
        if kind == "identity":
            return cls.identity()
        q = np.asarray(q, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if q.ndim != 1 or q.shape != y.shape or q.size < 1:
            raise ParameterError(
                f"calibration needs one label per raw Q (1-D, same length); got shapes "
                f"{q.shape} and {y.shape}"
            )
        if not (np.isfinite(q).all() and np.isfinite(y).all()):
            raise ParameterError("calibration needs finite raw Q and labels")
        low, high = (float(y.min()), float(y.max())) if bounds is None else bounds
        if kind == "affine":
            knots_q, knots_y = _affine_knots(q, y)
        else:
            knots_q, knots_y = _isotonic_knots(q, y, low, high)
        return cls(kind, knots_q, np.clip(knots_y, low, high))

    def __call__(self, q: ArrayLike) -> np.ndarray:
        """The calibrated values of raw ``q`` (any shape)."""
        return np.interp(np.asarray(q, dtype=np.float64), self._q, self._y)

    @property
    def knots(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the knot positions and values."""
        return self._q.copy(), self._y.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{"kind", "q", "y"}`` (the weights document's ``calibration``)."""
        return {"kind": self.kind, "q": self._q.tolist(), "y": self._y.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        """The map stored by :meth:`to_dict`.

        Raises:
            ParameterError: missing keys or invalid knots.
        """
        try:
            return cls(data["kind"], data["q"], data["y"])
        except (KeyError, TypeError) as exc:
            raise ParameterError(
                f'a calibration must be {{"kind", "q", "y"}}; got {data!r} ({exc})'
            ) from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Calibration):
            return NotImplemented
        return (
            self.kind == other.kind
            and np.array_equal(self._q, other._q)
            and np.array_equal(self._y, other._y)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Calibration({self.kind!r}, {self._q.size} knots)"


def _affine_knots(q: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares line with a non-negative slope, as two knots at the ends of ``q``."""
    low, high = float(q.min()), float(q.max())
    spread = q - q.mean()
    variance = float(np.dot(spread, spread))
    slope = max(float(np.dot(spread, y - y.mean())) / variance, 0.0) if variance > 0 else 0.0
    if slope == 0.0 or high == low:
        return np.array([low]), np.array([float(y.mean())])
    intercept = float(y.mean()) - slope * float(q.mean())
    return np.array([low, high]), np.array([intercept + slope * low, intercept + slope * high])


def _isotonic_knots(
    q: np.ndarray, y: np.ndarray, low: float, high: float
) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's isotonic fit (non-decreasing, clipped outside the training range)."""
    from sklearn.isotonic import IsotonicRegression

    fitted = IsotonicRegression(y_min=low, y_max=high, increasing=True, out_of_bounds="clip")
    fitted.fit(q, y)
    return fitted.X_thresholds_, fitted.y_thresholds_
