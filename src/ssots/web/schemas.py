"""Request and response bodies of the REST API (they are its OpenAPI schema).

``/api/train`` keeps the earlier system's camelCase contract; the other endpoints answer
in snake_case like the weights document and the CLI's JSON.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from ssots.pipeline import RunSpec
from ssots.store.jobs import STATUSES
from ssots.strategies import STRATEGIES


def _limits(name: str) -> list[Any]:
    """The constraints RunSpec puts on ``name``, so the API states the same ones."""
    return RunSpec.model_fields[name].metadata


StrategyName = Literal[*STRATEGIES]  # type: ignore[valid-type]
JobStatus = Literal[*STATUSES]  # type: ignore[valid-type]
ContractStatus = Literal["queued", "in_progress", "success", "error", "cancelled"]


class TrainRequest(BaseModel):
    """The body of ``POST /api/train``; every field is optional and camelCase or
    snake_case names are both accepted. Values must have their JSON type (no ``"50"`` or
    ``true`` for a number)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        strict=True,
    )

    dataset: str = Field(
        "bitcoin-demo",
        min_length=1,
        max_length=300,
        description="demo name (datasetSource demo), or a registered dataset's id or name "
        "(datasetSource local)",
    )
    dataset_source: Literal["kaggle", "demo", "local"] = "demo"
    kaggle_dataset: str | None = Field(
        None, max_length=300, description="Kaggle handle owner/slug[/file] (datasetSource kaggle)"
    )
    strategy: StrategyName = "momentum-cross"
    epochs: Annotated[int, *_limits("epochs")] = 50
    learning_rate: Annotated[float, *_limits("lr")] = 0.01
    momentum: Annotated[float, *_limits("momentum")] | None = None
    weight_decay: Annotated[float, *_limits("weight_decay")] | None = None
    patience: Annotated[int, *_limits("patience")] | None = None
    batch_size: Annotated[int, Field(ge=1)] | None = None
    labels: Literal["performance", "rules"] | None = None
    horizon: Annotated[int, *_limits("horizon")] | None = None
    seed: Annotated[int, *_limits("seed")] | None = None
    split: (
        Annotated[str, Field(pattern=r"^\s*[0-9.]+\s*,\s*[0-9.]+\s*,\s*[0-9.]+\s*$")]
        | Annotated[list[Annotated[float, Field(gt=0, lt=1)]], Field(min_length=3, max_length=3)]
        | None
    ) = Field(
        None,
        description='train,validation,test fractions summing to 1: "0.6,0.2,0.2" '
        "or [0.6, 0.2, 0.2]",
    )
    demo_days: Annotated[int, *_limits("demo_days")] | None = Field(
        None, description="days of demo data (datasetSource demo; default 1095)"
    )
    walk_forward: Annotated[int, *_limits("walk_forward")] | None = Field(
        None, description="also validate with this many expanding-window folds (2-20)"
    )
    threshold: Annotated[float, *_limits("threshold")] | None = Field(
        None, description="Q-filter threshold (default: median predicted Q on training rows)"
    )
    fee_bp: Annotated[float, *_limits("fee_bp")] | None = Field(
        None, description="backtest fee per unit of position change, basis points (default 10)"
    )
    slippage_bp: Annotated[float, *_limits("slippage_bp")] | None = Field(
        None, description="backtest slippage per unit of position change, basis points"
    )


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


class JobSummary(BaseModel):
    """A job in a listing."""

    id: str
    kind: str
    status: JobStatus
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
    """The service is up and its database answers."""

    status: Literal["ok"]
    version: str


class ValidationIssue(BaseModel):
    """One invalid field: where (``loc``) and what is wrong (``msg``)."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every error: a message, or for invalid requests one issue per field."""

    detail: str | list[ValidationIssue]
