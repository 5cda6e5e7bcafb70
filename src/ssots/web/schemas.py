"""Request and response bodies of the REST API (they are its OpenAPI schema).

``/api/train`` keeps the earlier system's camelCase contract; the other endpoints answer
in snake_case like the weights document and the CLI's JSON.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, create_model
from pydantic.alias_generators import to_camel, to_snake

from ssots.services.schedules import MISFIRE_POLICIES, PROMOTION_DEFAULTS, PROMOTION_METRICS
from ssots.spec import DEMO_TITLE, FIELDS, SPLIT_PATTERN, JobStatus, RunSpec
from ssots.store.runs import RUN_SOURCES
from ssots.store.webhooks import EVENT_TYPES

JobStatusName = Literal[*JobStatus]  # type: ignore[valid-type]
ContractStatus = Literal["queued", "in_progress", "success", "error", "cancelled"]


def _spec_field(name: str) -> tuple[Any, Any]:
    """The ``POST /api/train`` field for ``RunSpec`` field ``name``: same type, default,
    bounds and description; its camelCase API name or its snake_case twin accepted."""
    field, api = RunSpec.model_fields[name], FIELDS[name].api
    annotation: Any = field.annotation
    if field.metadata:
        annotation = Annotated[annotation, *field.metadata]
    if name == "split":  # JSON has no tuples: text or a list of three fractions
        fraction = Annotated[float, Field(gt=0, lt=1)]
        annotation = Annotated[str, Field(pattern=f"^{SPLIT_PATTERN}$")] | Annotated[
            list[fraction], Field(min_length=3, max_length=3)
        ]
    default = list(field.default) if name == "split" else field.default
    return annotation, Field(
        default,
        description=field.description,
        validation_alias=AliasChoices(api, to_snake(api)),
        serialization_alias=api,
    )


class _TrainRequestBase(BaseModel):
    """The dataset part of ``POST /api/train`` (the earlier system's contract)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", strict=True
    )

    dataset: str = Field(
        DEMO_TITLE,
        min_length=1,
        max_length=300,
        description="the demo's name (datasetSource demo), or a registered dataset's id or "
        "name (datasetSource registered; `local` is accepted as the earlier name)",
    )
    dataset_source: Literal["kaggle", "demo", "registered", "local"] = "demo"
    kaggle_dataset: str | None = Field(
        None, max_length=300, description="Kaggle handle owner/slug[/file] (datasetSource kaggle)"
    )


TrainRequest = create_model(
    "TrainRequest",
    __base__=_TrainRequestBase,
    __doc__="The body of ``POST /api/train``: every field is optional, with the defaults of "
    "``ssots train``; camelCase or snake_case names are both accepted. Values must have their "
    "JSON type (no ``\"50\"`` or ``true`` for a number).",
    **{name: _spec_field(name) for name in FIELDS if name != "dataset"},
)
"""The request schema, derived field by field from ``ssots.spec.RunSpec``."""


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class TrainAccepted(_Camel):
    """Answer to ``POST /api/train``: the job is queued."""

    status: Literal["in_progress"]
    job_id: str
    message: str
    progress: float
    timestamp: str


class TrainStatus(_Camel):
    """Answer to ``GET /api/train?jobId=``: the earlier system's status contract."""

    status: ContractStatus
    job_id: str
    progress: float = Field(description="0-100")
    epoch: int
    epochs: int
    train_loss: float | None
    val_loss: float | None
    metrics: dict[str, float | None] | None
    baselines: dict[str, dict[str, float | None]] | None
    weights: dict[str, float] | None = Field(
        description="the 13 parameters in the earlier system's layout (w_G .. w_T, alpha .. "
        "delta_max)"
    )
    parameters: dict[str, float] | None = Field(
        description="the same 13 parameters keyed by dimension (w_sma_trend .. delta_max)"
    )
    message: str
    timestamp: str
    started_at: str | None
    finished_at: str | None
    elapsed_seconds: float | None
    verdict: str | None = Field(
        default=None,
        description="once the job succeeded: the one-line verdict on its evidence of skill "
        "(ssots.evidence), e.g. 'test split: no evidence of skill: rank IC 0.02 [-0.05, 0.09], "
        "p = 0.41: ...'",
    )


class JobSummary(BaseModel):
    """A job in a listing."""

    id: str
    kind: str
    status: JobStatusName
    dataset: str
    strategy: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    elapsed_seconds: float | None
    progress: float
    epoch: int
    epochs: int
    train_loss: float | None
    val_loss: float | None
    stage: str | None
    message: str
    cancel_requested: bool
    r2: float | None = Field(description="test R^2 once the job succeeded")


class JobDetail(JobSummary):
    """A job with its request, run settings and, once it succeeded, its results (the weights
    document without the loss history)."""

    attempts: int
    request: dict[str, Any]
    spec: dict[str, Any]
    result: dict[str, Any] | None
    weights_url: str | None
    verdict: str | None = Field(
        default=None, description="the verdict on the result's evidence of skill, if any"
    )


class JobList(BaseModel):
    """One page of jobs, newest first."""

    jobs: list[JobSummary]
    total: int
    limit: int
    offset: int


class HistoryPoint(BaseModel):
    """Losses after one epoch."""

    epoch: int
    train_loss: float | None
    val_loss: float | None


class JobHistory(BaseModel):
    """A job's loss history, downsampled to at most ``max_points`` points (first and last
    epochs always included)."""

    job_id: str
    last_event_id: int = Field(
        description="number of the last event included: follow the job from here with "
        "GET /api/jobs/{id}/events and Last-Event-ID"
    )
    total_points: int
    points: list[HistoryPoint]


class DatasetItem(BaseModel):
    """A dataset the service can train on (or, for catalog entries, fetch)."""

    id: str
    name: str
    source: Literal["demo", "kaggle", "upload", "local"]
    registered: bool = Field(description="stored under the server's home (uploaded, fetched)")
    trainable: bool
    train_request: dict[str, str] | None = Field(
        description="the dataset fields of a POST /api/train body that train on it"
    )
    description: str | None = None
    handle: str | None = None
    file_name: str | None = None
    sha256: str | None = None
    size_bytes: int | None = None
    rows: int | None = None
    start: str | None = None
    end: str | None = None
    spacing: str | None = None
    repairs: list[str] | None = None
    added_at: str | None = None


class DatasetList(BaseModel):
    """The demo, the Kaggle catalog and the registered datasets."""

    datasets: list[DatasetItem]


class Preview(BaseModel):
    """Rows of a dataset's canonical frame: time, open, high, low, close, volume."""

    columns: list[str]
    rows: list[list[str | float]]


class Candles(Preview):
    """The whole span merged into at most the requested number of candles."""

    bars_per_candle: int


class DatasetDetail(DatasetItem):
    """A dataset with the loader's report, its first and last rows and a whole-span
    candle series for charts."""

    report: dict[str, Any] | None
    preview: Preview
    tail: Preview
    candles: Candles


class UploadResult(DatasetItem):
    """A registered upload with the loader's report of what it detected and repaired."""

    report: dict[str, Any]


class Health(BaseModel):
    """The service's state: ``ok`` while its database answers and its home folder can be
    written, else ``degraded`` (answered with 503) with what is wrong in ``detail``."""

    status: Literal["ok", "degraded"]
    version: str
    database: bool = Field(description="the database answers a query")
    home_writable: bool = Field(description="a file can be written into SSOTS_HOME")
    detail: str | None = Field(default=None, description="what is wrong, when degraded")


class ValidationIssue(BaseModel):
    """One invalid field: where (``loc``) and what is wrong (``msg``)."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every error: a message, or for invalid requests one issue per field."""

    detail: str | list[ValidationIssue]


class RunDataset(BaseModel):
    """The data a run trained on: its name, fingerprint (sha256 of the canonical frame's
    bytes) and span."""

    name: str
    fingerprint: str
    start: str | None
    end: str | None


class RunSummary(BaseModel):
    """A tracked run in a listing."""

    id: str
    name: str
    created_at: str
    source: Literal[*RUN_SOURCES]  # type: ignore[valid-type]
    job_id: str | None
    strategy: str | None
    dataset: RunDataset
    package_version: str
    metrics: dict[str, float | None]
    tags: dict[str, str]
    notes: str


class RunDetail(RunSummary):
    """A run with its settings, baselines, backtest summary, loss history and weights
    document."""

    spec: dict[str, Any]
    baselines: dict[str, dict[str, float | None]]
    backtest: dict[str, Any]
    history: list[dict[str, Any]]
    weights: dict[str, Any]


class RunList(BaseModel):
    """One page of runs."""

    runs: list[RunSummary]
    total: int
    limit: int
    offset: int


class RunPatch(BaseModel):
    """Changes to a run: a new name, tags to set (a null value removes the tag), notes."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100)
    tags: dict[str, str | None] | None = None
    notes: str | None = Field(None, max_length=10_000)


class RerunAccepted(BaseModel):
    """A job queued to train a run again with its settings."""

    job_id: str
    rerun_of: str
    message: str


MODEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
ALIAS_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"


class ModelItem(BaseModel):
    """A registered model with its aliases (alias -> version)."""

    name: str
    description: str
    created_at: str
    aliases: dict[str, int]
    latest_version: int | None
    versions: int


class ModelList(BaseModel):
    """Every registered model."""

    models: list[ModelItem]


class ModelCreate(BaseModel):
    """Register a model (created if new) and, with ``run_id``, a version from that run."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=MODEL_NAME_PATTERN)
    description: str = Field("", max_length=2000)
    run_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$", description="a run's id or name"
    )


class VersionSummary(BaseModel):
    """A version of a model without its weights document."""

    model: str
    version: int
    uri: str
    created_at: str
    run_id: str | None
    fingerprint: str
    metrics: dict[str, float | None]
    parameters: dict[str, float]
    aliases: list[str]
    lineage: dict[str, Any]
    verdict: str | None = Field(
        default=None, description="the verdict on the version's evidence of skill"
    )
    skill: bool | None = Field(
        default=None,
        description="whether that verdict found evidence of skill (None: none recorded)",
    )


class VersionDetail(VersionSummary):
    """A version with its weights document."""

    weights: dict[str, Any]


class ModelRegistered(BaseModel):
    """The model and, when a run was given, its version (``created``: new content)."""

    model: ModelItem
    version: VersionSummary | None
    created: bool


class VersionList(BaseModel):
    """The versions of a model, newest first."""

    versions: list[VersionSummary]


class AliasMove(BaseModel):
    """Point an alias at a version, saying why."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=2**31 - 1)
    reason: str = Field("", max_length=1000)


class AliasRollback(BaseModel):
    """Why an alias is moved back one step."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=1000)


class AliasEventItem(BaseModel):
    """One move of an alias."""

    model_config = ConfigDict(populate_by_name=True)

    model: str
    alias: str
    seq: int
    kind: Literal["move", "rollback"]
    from_: int | None = Field(alias="from")
    to: int
    who: str
    reason: str
    at: str


class AliasHistory(BaseModel):
    """Every move of an alias, oldest first."""

    history: list[AliasEventItem]


class OhlcvRow(BaseModel):
    """One bar."""

    time: str | int | float
    open: float
    high: float
    low: float
    close: float
    volume: float


class ScoreRequest(BaseModel):
    """Bars to score: ``rows`` (JSON), ``csv`` (text with a header) or ``dataset`` (the
    demo, or a registered dataset's id or name); exactly one of them."""

    model_config = ConfigDict(extra="forbid")

    rows: list[OhlcvRow] | None = Field(None, max_length=200_000)
    csv: str | None = Field(None, max_length=50_000_000)
    dataset: str | None = Field(None, max_length=300)
    last: int = Field(10, ge=1, le=10_000, description="how many of the latest bars")


class ScoredBar(BaseModel):
    """A bar's call, Q-scores and whether the Q-filter takes the call."""

    time: str
    close: float
    call: Literal["long", "short", "flat"]
    q: float = Field(description="calibrated Q-score (the expected label)")
    q_raw: float = Field(description="the model's raw Q, which the Q-filter thresholds")
    take: bool | None = Field(description="raw Q >= the model's threshold")


class ScoreResult(BaseModel):
    """The latest bars scored by a version of a model."""

    model: str
    version: int
    uri: str
    alias: str | None
    strategy: str
    threshold: float | None
    bars: list[ScoredBar]


class MetricComparison(BaseModel):
    """One metric of the compared runs; ``best`` indexes the best value (None: all equal)."""

    values: list[float | None]
    best: int | None
    lower_is_better: bool


class ParameterComparison(BaseModel):
    """One parameter of the compared runs, with each one's delta from the first."""

    values: list[float | None]
    deltas: list[float | None]


class ComparedRun(BaseModel):
    """Who is compared: id, label and data."""

    id: str
    label: str
    dataset: dict[str, Any]


class LossCurve(BaseModel):
    """A compared run's loss history."""

    id: str
    points: list[HistoryPoint]


class EquityCurve(BaseModel):
    """A compared run's Q-filtered book on its test split."""

    id: str
    times: list[str]
    q_filtered: list[float]


class Comparison(BaseModel):
    """Runs (or versions) side by side: differing settings, metrics with the best marked,
    parameters with deltas from the first, loss and equity curves, a data warning."""

    runs: list[ComparedRun]
    spec: dict[str, list[Any]]
    metrics: dict[str, MetricComparison]
    parameters: dict[str, ParameterComparison]
    histories: list[LossCurve]
    equity: list[EquityCurve]
    evidence: list[dict[str, Any]] = Field(
        default_factory=list,
        description="per run: verdict, skill, p_value, and across the compared runs the "
        "Benjamini-Hochberg adjusted_p and adjusted_verdict",
    )
    different_data: bool
    warnings: list[str]


# -- schedules and webhooks (docs/automation.md) --------------------------------------


PromotionMetric = Literal[*PROMOTION_METRICS]  # type: ignore[valid-type]
MisfirePolicy = Literal[*MISFIRE_POLICIES]  # type: ignore[valid-type]
EventType = Literal[*EVENT_TYPES]  # type: ignore[valid-type]
AGE_PATTERN = r"^[0-9]+(\.[0-9]+)?[smhdw]?$"


class PromotionRule(BaseModel):
    """How a scheduled run's challenger is compared with the champion."""

    model_config = ConfigDict(extra="forbid")

    metric: PromotionMetric = PROMOTION_DEFAULTS["metric"]
    tie_break: PromotionMetric = PROMOTION_DEFAULTS["tie_break"]
    margin: float = Field(PROMOTION_DEFAULTS["margin"], ge=0, le=1e6)


class ScheduleCreate(BaseModel):
    """A new schedule: when (cron in a time zone), what (a run spec) and which model."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=MODEL_NAME_PATTERN)
    cron: str = Field(min_length=9, max_length=120, description="five fields, e.g. 0 3 * * *")
    timezone: str = Field("UTC", min_length=1, max_length=64, description="an IANA zone")
    model: str = Field(pattern=MODEL_NAME_PATTERN, description="the registered model it feeds")
    spec: dict[str, Any] = Field(
        default_factory=dict,
        description="run settings by their snake_case names (GET /api/spec); dataset: demo, "
        "a registered dataset or kaggle:OWNER/SLUG (fetched again at every run)",
    )
    misfire: MisfirePolicy = MISFIRE_POLICIES[0]
    promotion: PromotionRule = Field(default_factory=PromotionRule)
    max_age: str | None = Field(None, pattern=AGE_PATTERN, description="e.g. 7d: model.stale")
    enabled: bool = True


class SchedulePatch(BaseModel):
    """Changes to a schedule (the next fire time is recomputed)."""

    model_config = ConfigDict(extra="forbid")

    cron: str | None = Field(None, min_length=9, max_length=120)
    timezone: str | None = Field(None, min_length=1, max_length=64)
    misfire: MisfirePolicy | None = None
    promotion: PromotionRule | None = None
    max_age: str | None = Field(None, pattern=AGE_PATTERN)
    enabled: bool | None = None


class ScheduleRunItem(BaseModel):
    """One fire time of a schedule and how it ended."""

    id: int
    schedule_id: int
    fire_time: str
    trigger: Literal["cron", "catch-up", "manual", "missed"]
    status: str
    job_id: str | None
    job_status: str | None
    missed: int
    created_at: str
    decided_at: str | None
    version: int | None
    decision: dict[str, Any] | None
    message: str


class ScheduleItem(BaseModel):
    """A schedule with its next five fire times."""

    id: int
    name: str
    cron: str
    timezone: str
    spec: dict[str, Any]
    model: str
    promotion: PromotionRule
    max_age_s: int | None
    enabled: bool
    misfire: MisfirePolicy
    allow_files: bool
    next_run_at: str | None
    last_run_at: str | None
    created_at: str
    next_fire_times: list[str]


class ScheduleDetail(ScheduleItem):
    """A schedule with its history of fire times, newest first."""

    runs: list[ScheduleRunItem]


class ScheduleList(BaseModel):
    """Every schedule."""

    schedules: list[ScheduleItem]


class WebhookCreate(BaseModel):
    """A subscription: where to send which events."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000, description="http(s); public unless allowed")
    events: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES))


class WebhookPatch(BaseModel):
    """Enable or disable a subscription, or change its events."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    events: list[EventType] | None = Field(None, min_length=1, max_length=len(EVENT_TYPES))


class WebhookItem(BaseModel):
    """A subscription (its secret is never shown again after creation)."""

    id: str
    url: str
    events: list[str]
    enabled: bool
    allow_private_targets: bool
    created_at: str
    disabled_reason: str
    previous_secret_valid_until: str | None


class WebhookCreated(WebhookItem):
    """A new subscription, or a rotated one, with its secret: shown this once."""

    secret: str = Field(description="whsec_...; verify deliveries with it (Standard Webhooks)")


class WebhookList(BaseModel):
    """Every subscription."""

    webhooks: list[WebhookItem]


class AttemptItem(BaseModel):
    """One HTTP attempt of a delivery."""

    attempt: int
    at: str
    status: int | None
    latency_ms: float
    response: str
    error: str


class DeliveryItem(BaseModel):
    """One event for one subscription, with every attempt."""

    id: str
    webhook_id: str
    event_id: str
    event_type: str
    status: Literal["pending", "delivered", "failed", "cancelled"]
    attempts: int
    next_attempt_at: str | None
    last_status: int | None
    created_at: str
    delivered_at: str | None
    log: list[AttemptItem]


class DeliveryList(BaseModel):
    """Deliveries, newest first."""

    deliveries: list[DeliveryItem]
