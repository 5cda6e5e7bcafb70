"""Runs as a use case: recording a finished training (from the CLI or a job worker) as a
tracked run, and the settings to train one again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ssots.config import Settings
from ssots.errors import ParameterError
from ssots.pipeline import RunResult
from ssots.spec import RunSpec

if TYPE_CHECKING:  # SQLAlchemy loads only when a run is recorded or read
    from ssots.store.runs import RunRecord, RunStore

__all__ = ["dataset_fingerprint", "parse_tags", "record_run", "rerun_spec", "run_store"]


def run_store(settings: Settings) -> RunStore:
    """The runs of ``settings``' database (opened and migrated)."""
    from ssots.store import open_database
    from ssots.store.runs import RunStore

    return RunStore(open_database(settings))


def dataset_fingerprint(document: dict[str, Any]) -> str:
    """The data fingerprint of a weights document: the canonical frame's sha256
    (``services.datasets.frame_sha256``), or for an older file the file's sha256."""
    data = document.get("data", {})
    return str(data.get("fingerprint") or data.get("sha256") or "unknown")


def record_run(
    store: RunStore,
    result: RunResult,
    document: dict[str, Any],
    *,
    source: str,
    job_id: str | None = None,
    tags: dict[str, str] | None = None,
    name: str | None = None,
) -> RunRecord:
    """Record the finished ``result`` (whose weights document is ``document``) as a run.

    Args:
        store: where runs live.
        result: the pipeline's result.
        document: its weights document (``artifacts.weights_document``).
        source: ``cli`` or ``job``.
        job_id: the job that trained it.
        tags: initial tags.
        name: the run's name (default: generated).

    Raises:
        ConflictError: ``name`` is taken.
    """
    from ssots import __version__

    data = dict(document["data"])
    if source == "job":  # a server's file paths stay private
        data.pop("path", None)
    weights = {**document, "data": data}
    return store.create(
        name=name,
        source=source,
        job_id=job_id,
        spec=result.spec.model_dump(mode="json"),
        dataset_name=str(data.get("name", "")),
        dataset_fingerprint=dataset_fingerprint(document),
        dataset_start=data.get("start"),
        dataset_end=data.get("end"),
        package_version=__version__,
        metrics=document["metrics"],
        baselines=document["baselines"],
        backtest=document["backtest"],
        history=document["history"],
        weights=weights,
        tags=dict(tags or {}),
    )


def rerun_spec(run: RunRecord, *, files: bool = True) -> RunSpec:
    """The settings of ``run``, to train it again.

    Args:
        run: the run.
        files: whether its dataset may be a local file (False for a job of the service,
            which trains only on the demo, registered or Kaggle datasets).

    Raises:
        ParameterError: the stored settings are no longer valid.
        ConflictError: ``files`` is False and the run trained on a local file.
    """
    from ssots.data.sources.reference import FileRef, parse_reference
    from ssots.errors import ConflictError

    spec = RunSpec.build(**run.spec)
    if not files and isinstance(parse_reference(spec.dataset), FileRef):
        raise ConflictError(
            f"run {run.name} trained on the local file {spec.dataset}, which a job cannot "
            f"read; upload it (POST /api/datasets) or rerun it with `ssots runs rerun {run.id}`"
        )
    return spec


def parse_tags(pairs: list[str], name: str) -> dict[str, str]:
    """``["k=v", ...]`` as a dict; ``name`` is how the user's interface calls the value
    (``--tag`` on the command line, ``tag`` in the API).

    Raises:
        ParameterError: an item without ``=`` or without a key.
    """
    tags: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ParameterError(f"`{name}` must be key=value, e.g. team=research; got {pair!r}")
        tags[key] = value
    return tags
