"""``GET /api/spec``: the run settings (names, defaults, ranges, choices) and vocabularies
of ``ssots.spec``, for clients that build their own forms. Open like ``/api/health``: it
holds no data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ssots.spec import vocabulary

router = APIRouter(tags=["spec"])


@router.get("/spec", summary="Every run setting with its default, range and choices")
def run_spec() -> dict[str, Any]:
    """The fields of a run (``fields``: API name, CLI flag, label, help, type, default,
    bounds, choices) and the vocabularies: strategies, label modes, books, job statuses
    and the demo dataset."""
    return vocabulary()
