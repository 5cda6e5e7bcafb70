"""The model registry as a use case: registering a run or a weights file as a version,
the one resolver of weights references (a file, ``models:/NAME/3``,
``models:/NAME@champion``, ``models:/NAME@champion?at=2026-11-01T00:00:00Z``) used by
``ssots score``, ``ssots backtest``, ``ssots export`` and the API, export and import of a
version as one file, and scoring the latest bars for traders.

A file reference never opens the database (``ssots export`` of a file stays light)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ssots.artifacts import SavedModel, read_weights, saved_model, write_json
from ssots.config import Settings
from ssots.errors import ConflictError, DataError, ParameterError
from ssots.services.runs import dataset_fingerprint

if TYPE_CHECKING:
    import pandas as pd

    from ssots.store.registry import ModelRegistry, VersionRecord
    from ssots.store.runs import RunStore
    from ssots.store.studies import StudyRecord

__all__ = [
    "EXPORT_SCHEMA",
    "MODEL_URI",
    "ModelUri",
    "export_version",
    "import_version",
    "parse_model_uri",
    "register_run",
    "register_study_best",
    "register_weights_file",
    "registry",
    "resolve_version",
    "resolve_weights",
    "score_latest",
]

MODEL_URI = "models:/"
"""The prefix of a registry reference."""
EXPORT_SCHEMA = "ssots.model-version/1"
"""The schema of an exported version (weights document plus lineage)."""
_URI = re.compile(
    r"^models:/(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]{0,99})"
    r"(?:/(?P<version>[0-9]+)|@(?P<alias>[a-z][a-z0-9_-]{0,63}))?"
    r"(?:\?at=(?P<at>[^&]+))?$"
)


@dataclass(frozen=True)
class ModelUri:
    """A parsed ``models:/`` reference: a version number or an alias (``latest`` when
    neither), and for an alias optionally a moment to resolve it at."""

    name: str
    version: int | None = None
    alias: str | None = None
    at: datetime | None = None


def parse_model_uri(text: str) -> ModelUri:
    """Parse ``models:/NAME/3``, ``models:/NAME@ALIAS[?at=ISO-8601]`` or ``models:/NAME``
    (the latest version).

    Raises:
        ParameterError: malformed.
    """
    match = _URI.match(text)
    if match is None:
        raise ParameterError(
            f"{text!r} is not a model reference; use models:/NAME/VERSION, "
            "models:/NAME@ALIAS or models:/NAME@ALIAS?at=2026-11-01T00:00:00Z"
        )
    at = None
    if match["at"] is not None:
        if match["version"] is not None:
            raise ParameterError("`?at=` applies to an alias, not to a version number")
        at = parse_time(match["at"])
    version = None if match["version"] is None else int(match["version"])
    alias = None if version is not None else (match["alias"] or "latest")
    return ModelUri(match["name"], version, alias, at)


def parse_time(text: str) -> datetime:
    """An ISO 8601 moment (``Z`` or an offset; none means UTC) in UTC.

    Raises:
        ParameterError: not ISO 8601.
    """
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ParameterError(
            f"{text!r} is not an ISO 8601 time, e.g. 2026-11-01T00:00:00Z"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def registry(settings: Settings) -> ModelRegistry:
    """The model registry of ``settings``' database (opened and migrated)."""
    from ssots.store import open_database
    from ssots.store.registry import ModelRegistry

    return ModelRegistry(open_database(settings))


def resolve_version(models: ModelRegistry, reference: str | ModelUri) -> VersionRecord:
    """The registered version a ``models:/`` reference names.

    Raises:
        ParameterError: malformed reference.
        NotFoundError: no such model, version or alias (at that time).
    """
    uri = parse_model_uri(reference) if isinstance(reference, str) else reference
    if uri.version is not None:
        return models.version(uri.name, uri.version)
    return models.resolve_alias(uri.name, uri.alias or "latest", uri.at)


def resolve_weights(reference: str | Path, settings: Settings | None = None) -> SavedModel:
    """The model a weights reference names: a weights file, or a registered version
    (``models:/NAME/3``, ``models:/NAME@champion``, ``...@champion?at=ISO``).

    Raises:
        DataError: the file is missing or not a weights file.
        ParameterError, NotFoundError: a bad or unknown ``models:/`` reference.
    """
    text = str(reference)
    if not text.startswith(MODEL_URI):
        return read_weights(Path(text))
    found = resolve_version(registry(settings or Settings.from_env()), text)
    return saved_model(found.weights, origin=f"models:/{found.model}/{found.version}")


def register_run(
    models: ModelRegistry, name: str, run: Any, *, description: str = ""
) -> tuple[VersionRecord, bool]:
    """Register the weights of tracked ``run`` (a ``store.runs.RunRecord``) as a version
    of ``name`` (created if new); identical content returns the existing version.

    Returns:
        The version and whether it is new.
    """
    models.ensure_model(name, description)
    lineage = {
        "run_id": run.id,
        "run_name": run.name,
        "source": run.source,
        "job_id": run.job_id,
        "spec": run.spec,
        "dataset": {
            "name": run.dataset_name,
            "fingerprint": run.dataset_fingerprint,
            "start": run.dataset_start,
            "end": run.dataset_end,
        },
        "package_version": run.package_version,
        "trained_at": run.created_at.isoformat(),
    }
    return models.register(
        name, run.weights, fingerprint=run.dataset_fingerprint, run_id=run.id, lineage=lineage
    )


def register_study_best(
    models: ModelRegistry, runs: RunStore, study: StudyRecord, name: str, description: str = ""
) -> tuple[VersionRecord, bool, str]:
    """Register the refitted best trial of ``study`` as a version of ``name`` (created if
    new): its run, whose metrics are the study's one test evaluation.

    Returns:
        The version, whether it is new, and the refitted run's id.

    Raises:
        ConflictError: the study has no refitted best trial yet.
    """
    run_id = (study.report or {}).get("run_id")
    if run_id is None:
        raise ConflictError(
            f"study {study.id} is {study.status} and has no refitted best trial yet"
        )
    trials_run = study.report["trials_run"]  # type: ignore[index]
    description = description or (
        f"best of {trials_run} trials of study {study.id} ({study.objective}); "
        "test split evaluated once"
    )
    version, created = register_run(models, name, runs.get(run_id), description=description)
    return version, created, run_id


def register_weights_file(
    models: ModelRegistry, name: str, path: Path, *, description: str = ""
) -> tuple[VersionRecord, bool]:
    """Register a weights file as a version of ``name`` (created if new).

    Raises:
        DataError: not a weights file.
    """
    document = read_weights(path).document
    models.ensure_model(name, description)
    data = document.get("data", {})
    lineage = {
        "file": Path(path).name,
        "dataset": {
            "name": data.get("name"),
            "fingerprint": dataset_fingerprint(document),
            "start": data.get("start"),
            "end": data.get("end"),
        },
        "trained_at": document.get("created_at"),
    }
    return models.register(
        name, document, fingerprint=dataset_fingerprint(document), lineage=lineage
    )


def export_version(models: ModelRegistry, reference: str, output: Path) -> VersionRecord:
    """Write a version (``NAME/3``, ``NAME@alias`` or a ``models:/`` URI) to ``output`` as
    one file: its weights document and lineage.

    Raises:
        ParameterError, NotFoundError: bad or unknown reference.
    """
    uri = reference if reference.startswith(MODEL_URI) else f"{MODEL_URI}{reference}"
    found = resolve_version(models, uri)
    model = models.get_model(found.model)
    write_json(
        output,
        {
            "schema": EXPORT_SCHEMA,
            "model": {"name": model.name, "description": model.description},
            "version": found.version,
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "fingerprint": found.fingerprint,
            "metrics": found.metrics,
            "lineage": found.lineage,
            "weights": found.weights,
        },
    )
    return found


def import_version(
    models: ModelRegistry, path: Path, *, name: str | None = None
) -> tuple[VersionRecord, bool]:
    """Register the version exported to ``path`` (under its model's name, or ``name``);
    identical content already registered returns that version.

    Raises:
        DataError: not an exported version, or its weights document is damaged.
    """
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"no such file: {path}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DataError(f"{path} is not JSON; pass a file of `ssots models export`") from None
    if not isinstance(document, dict) or document.get("schema") != EXPORT_SCHEMA:
        raise DataError(
            f'{path} is not an exported model version (expected "schema": "{EXPORT_SCHEMA}")'
        )
    try:
        saved_model(document["weights"], origin=f"the weights in {path}")
        target = name or document["model"]["name"]
        description = document["model"].get("description", "")
        lineage = {
            **document.get("lineage", {}),
            "imported_from": {
                "model": document["model"]["name"],
                "version": document["version"],
                "exported_at": document.get("exported_at"),
            },
        }
        fingerprint = document["fingerprint"]
    except (KeyError, TypeError) as exc:
        raise DataError(f"{path} is damaged ({exc}); export it again") from None
    models.ensure_model(target, description)
    return models.register(target, document["weights"], fingerprint=fingerprint, lineage=lineage)


def score_latest(saved: SavedModel, frame: pd.DataFrame, last: int) -> list[dict[str, Any]]:
    """For the latest ``last`` bars of ``frame``: the strategy's call, the calibrated and
    raw Q-score, and whether the Q-filter would take the call (raw Q >= the model's
    threshold).

    Raises:
        DataError: fewer bars than the indicators' warm-up.
    """
    from ssots.features import WARMUP_BARS

    scores = saved.score(frame)
    if scores.empty:
        raise DataError(
            f"{len(frame)} bars are too few to score: the indicators need more than "
            f"{WARMUP_BARS} bars of warm-up"
        )
    threshold = saved.document.get("backtest", {}).get("threshold")
    rows = []
    for time, row in scores.tail(last).iterrows():
        direction = int(row["direction"])
        rows.append(
            {
                "time": time.isoformat(),
                "close": float(row["close"]),
                "call": "long" if direction > 0 else "short" if direction < 0 else "flat",
                "q": float(row["q"]),
                "q_raw": float(row["q_raw"]),
                "take": None if threshold is None else bool(row["q_raw"] >= threshold),
            }
        )
    return rows


def rows_frame(rows: list[dict[str, Any]] | str) -> pd.DataFrame:
    """Bars a client sent, as the canonical frame: a list of ``{time, open, high, low,
    close, volume}`` objects, or CSV text with a header; cleaned by the loader's rules.

    Raises:
        DataError: not usable OHLCV bars, or fewer than the indicators' warm-up needs.
    """
    import io

    import pandas as pd

    from ssots.data.market import normalize_frame
    from ssots.features import WARMUP_BARS

    if isinstance(rows, str):
        try:
            table = pd.read_csv(io.StringIO(rows))
        except (ValueError, pd.errors.ParserError) as exc:
            raise DataError(f"the CSV text does not parse: {exc}") from None
    else:
        table = pd.DataFrame(rows)
    if table.empty:
        raise DataError("no bars sent")
    frame, _ = normalize_frame(table, source="the bars sent", min_rows=WARMUP_BARS + 1)
    return frame
