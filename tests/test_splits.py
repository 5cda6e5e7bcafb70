"""Chronological split with the label purge (MODEL.md section 6)."""

from __future__ import annotations

import pytest

from ssots.errors import ParameterError
from ssots.spec import parse_split
from ssots.splits import chronological_split


def test_default_split_purges_the_horizon() -> None:
    split = chronological_split(1000, (0.6, 0.2, 0.2), lookahead=5)
    assert split.train == range(595)
    assert split.validation == range(600, 795)
    assert split.test == range(800, 1000)


def test_no_training_or_validation_label_reads_a_later_block() -> None:
    lookahead = 7
    split = chronological_split(503, (0.5, 0.3, 0.2), lookahead=lookahead)
    assert split.train[-1] + lookahead < split.validation.start
    assert split.validation[-1] + lookahead < split.test.start


@pytest.mark.parametrize("text", ["0.6,0.2", "0.5,0.5,0.5", "a,b,c", "0.8,0.3,-0.1", ""])
def test_bad_ratios_name_the_option(text: str) -> None:
    with pytest.raises(ParameterError, match="must be three fractions that sum to 1"):
        parse_split(text)


def test_too_few_rows_is_refused() -> None:
    with pytest.raises(ParameterError, match="too few to split"):
        chronological_split(40, (0.6, 0.2, 0.2), lookahead=5)
