"""The public surface of ``ssots`` is curated: ``__all__`` is pinned here (as httpx pins
its exported members), and every listed name resolves."""

from __future__ import annotations

import pytest

import ssots

PUBLIC = {
    "DIMENSIONS",
    "DataError",
    "Event",
    "JobStatus",
    "Normalizer",
    "ParameterError",
    "QScoreModel",
    "QScoreRegressor",
    "RunResult",
    "RunSpec",
    "STRATEGIES",
    "SsotsError",
    "TrainConfig",
    "__version__",
    "compute_indicators",
    "demo",
    "dimensions",
    "load",
    "read_weights",
    "resolve_weights",
    "run",
    "train",
    "train_run",
}


def test_all_is_the_curated_list() -> None:
    assert set(ssots.__all__) == PUBLIC
    assert len(ssots.__all__) == len(PUBLIC), "a name is listed twice"


def test_every_public_name_resolves_and_nothing_else_does() -> None:
    for name in ssots.__all__:
        assert getattr(ssots, name) is not None, name
    with pytest.raises(AttributeError, match="no_such_name"):
        ssots.no_such_name  # noqa: B018
