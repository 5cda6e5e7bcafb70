"""The one event type of a run, from the trainer to the browser.

The pipeline emits ``Event``s to its ``on_event`` callback; the CLI draws them as a
progress bar, a job worker stores them as job events, and the API streams them over
Server-Sent Events, all in this shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Event", "EventSink", "epoch_event", "stage_event"]

EventKind = Literal["stage", "epoch"]


@dataclass(frozen=True)
class Event:
    """Progress of a run.

    Attributes:
        kind: ``stage`` (data: ``{"stage": name}``) or ``epoch`` (data: ``epoch``,
            ``epochs``, ``train_loss``, ``val_loss``: the one shape of an epoch's losses,
            also that of each entry of a run's loss history).
        data: JSON-ready values.
    """

    kind: EventKind
    data: dict[str, Any]


EventSink = Callable[[Event], None]
"""Receives a run's events."""


def stage_event(stage: str) -> Event:
    """A run entered ``stage`` (e.g. "training")."""
    return Event("stage", {"stage": stage})


def epoch_event(epoch: int, epochs: int, train_loss: float, val_loss: float | None) -> Event:
    """Losses after ``epoch`` of at most ``epochs``."""
    return Event(
        "epoch", {"epoch": epoch, "epochs": epochs, "train_loss": train_loss, "val_loss": val_loss}
    )
