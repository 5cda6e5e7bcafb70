"""Chronological train / validation / test splits with the label purge (MODEL.md section 6).

Positions are row offsets into the labelled rows of one series, oldest first. A label at
row t reads prices up to row t + lookahead, so the last ``lookahead`` rows of the training
and validation blocks are purged: no training label may use a price from a later block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from ssots.errors import ParameterError
from ssots.spec import DEFAULT_SPLIT, MIN_BLOCK_ROWS, parse_split

__all__ = ["MIN_BLOCK_ROWS", "Split", "chronological_split", "walk_forward_splits"]


@dataclass(frozen=True)
class Split:
    """Row ranges ``[start, stop)`` of each block, after the purge."""

    train: range
    validation: range
    test: range

    def sizes(self) -> dict[str, int]:
        """Rows per block, e.g. ``{"train": 600, "validation": 195, "test": 200}``."""
        blocks = {"train": self.train, "validation": self.validation, "test": self.test}
        return {name: len(rows) for name, rows in blocks.items()}


def chronological_split(
    n_rows: int, ratios: Sequence[float] = DEFAULT_SPLIT, lookahead: int = 0
) -> Split:
    """Split ``n_rows`` labelled rows into oldest-first train / validation / test blocks.

    Args:
        n_rows: number of labelled rows.
        ratios: fractions of rows for train, validation and test.
        lookahead: bars each label reads ahead; that many rows are purged from the end of
            the training and validation blocks.

    Returns:
        The purged ``Split``.

    Raises:
        ParameterError: a block would keep fewer than ``MIN_BLOCK_ROWS`` rows.
    """
    train_ratio, validation_ratio, _ = parse_split(ratios)
    validation_start = round(n_rows * train_ratio)
    test_start = round(n_rows * (train_ratio + validation_ratio))
    split = _purged(validation_start, test_start, n_rows, lookahead)
    _check_sizes(split, n_rows, "change `split`")
    return split


def walk_forward_splits(
    n_rows: int, folds: int, validation_ratio: float, lookahead: int = 0
) -> list[Split]:
    """Expanding-window walk-forward folds over ``n_rows`` labelled rows (MODEL.md section 6).

    The rows are cut into ``folds + 1`` nearly equal blocks. Fold k (1..folds) tests on
    block k and learns from everything before it: the last ``validation_ratio`` of that
    window is its validation tail (early stopping), the rest its training rows, and both
    lose their last ``lookahead`` rows to the purge as in ``chronological_split``. The test
    blocks therefore never overlap and tile every row after the first block.

    Args:
        n_rows: number of labelled rows.
        folds: number of folds (>= 1).
        validation_ratio: share of each fold's window used for validation, in (0, 1).
        lookahead: bars each label reads ahead (the purge width).

    Returns:
        One purged ``Split`` per fold, oldest test block first.

    Raises:
        ParameterError: bad ``folds`` or ``validation_ratio``, or a block of some fold
            would keep fewer than ``MIN_BLOCK_ROWS`` rows.
    """
    if folds < 1 or not 0.0 < validation_ratio < 1.0:
        raise ParameterError(
            "walk-forward needs at least 1 fold and a validation share in (0, 1); "
            f"got {folds} folds and {validation_ratio}"
        )
    bounds = [round(n_rows * block / (folds + 1)) for block in range(folds + 2)]
    result = []
    for test_start, test_stop in pairwise(bounds[1:]):
        validation_start = round(test_start * (1.0 - validation_ratio))
        split = _purged(validation_start, test_start, test_stop, lookahead)
        _check_sizes(split, n_rows, "use fewer walk-forward folds")
        result.append(split)
    return result


def _purged(validation_start: int, test_start: int, test_stop: int, lookahead: int) -> Split:
    """Blocks ``[0, validation_start)``, ``[validation_start, test_start)`` and
    ``[test_start, test_stop)``, the first two without their last ``lookahead`` rows."""
    return Split(
        train=range(validation_start - lookahead),
        validation=range(validation_start, test_start - lookahead),
        test=range(test_start, test_stop),
    )


def _check_sizes(split: Split, n_rows: int, remedy: str) -> None:
    small = {name: size for name, size in split.sizes().items() if size < MIN_BLOCK_ROWS}
    if small:
        described = ", ".join(f"{name} {size}" for name, size in small.items())
        raise ParameterError(
            f"{n_rows} labelled rows are too few to split: {described} rows after the purge; "
            f"each block needs at least {MIN_BLOCK_ROWS}. Use a longer dataset or {remedy}."
        )
