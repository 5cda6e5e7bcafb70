"""The training use case: resolve and load a run's dataset, run the pure pipeline, and
write the weights document. The CLI calls it in-process with a progress bar; a job
worker calls it with an event sink. Nothing else strings these steps together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ssots.artifacts import weights_document, write_json
from ssots.config import Settings
from ssots.data.sources.reference import parse_reference
from ssots.events import EventSink, stage_event
from ssots.pipeline import RunResult, run
from ssots.services.datasets import frame_sha256, resolve
from ssots.spec import RunSpec

__all__ = ["save_weights", "train_run"]


def train_run(
    spec: RunSpec,
    settings: Settings | None = None,
    on_event: EventSink | None = None,
    *,
    files: bool = True,
) -> RunResult:
    """Load the dataset ``spec.dataset`` names and train on it.

    Args:
        spec: the run's settings.
        settings: where registered datasets live (``spec.dataset`` may name one);
            default: from the environment.
        files: whether ``spec.dataset`` may name a local file (False for a job a remote
            client submitted: its dataset is the demo, a registered id or ``kaggle:``).
        on_event: receives the run's stage and epoch events.

    Returns:
        The pipeline's result, its ``dataset`` carrying where the data came from.

    Raises:
        SsotsError: unknown or unusable dataset, or settings the data cannot meet.
    """
    emit = on_event or (lambda event: None)
    emit(stage_event("loading data"))
    dataset = resolve(
        parse_reference(spec.dataset, files=files),
        settings or Settings.from_env(),
        seed=spec.seed,
        demo_days=spec.demo_days,
        demo_freq=spec.demo_freq,
    )
    source = {**dataset.describe(), "fingerprint": frame_sha256(dataset.frame)}
    return run(spec, dataset.frame, on_event, source=source)


def save_weights(result: RunResult, path: Path) -> tuple[Path, dict[str, Any]]:
    """Write ``result``'s weights document to ``path`` atomically.

    Returns:
        The path written and the document.
    """
    document = weights_document(result)
    return write_json(path, document), document

