"""What a training run is: every default, range and choice list of a run, in one home.

The CLI's options (``ssots train``), the API's request schema (``POST /api/train``), the
dashboard's training form, ``GET /api/spec`` and the settings table of docs/model.md all
derive from this module; none of them restates a value. Run ``python -m ssots.spec`` to
print the settings table.

- ``RunSpec``: the settings of one run (same spec and data give identical weights).
- ``FIELDS``: how each ``RunSpec`` field is shown: CLI flag, API name, form label, group.
- ``STRATEGIES``, ``LABEL_MODES``, ``BOOKS``, ``JobStatus``: the vocabularies.
- ``DEMO``, ``DEMO_TITLE``, ``DEMO_DAYS``: the built-in demo dataset.
- ``min_rows``: the fewest bars a run can train on (the loader's ``MIN_ROWS`` is its value
  for the default split and horizon); ``MAX_GAP_SPACINGS``: the longest hole in a series
  a run trains across without ``allow_gaps``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ssots.errors import FieldIssue, InvalidFieldsError, ParameterError

__all__ = [
    "BOOKS",
    "BOOK_METRICS",
    "DEMO",
    "DEMO_DAYS",
    "DEMO_TITLE",
    "FIELDS",
    "LABEL_MODES",
    "LOWER_IS_BETTER",
    "MAX_GAP_SPACINGS",
    "METRICS",
    "MIN_BLOCK_ROWS",
    "STRATEGIES",
    "WARMUP_BARS",
    "FieldInfo",
    "JobStatus",
    "RunSpec",
    "check_strategy",
    "min_rows",
    "min_rows_reason",
    "parse_split",
    "range_text",
    "settings_table",
    "vocabulary",
]

STRATEGIES: dict[str, str] = {
    "momentum-cross": "Momentum Crossover",
    "rsi-enhanced": "RSI Enhanced",
    "bollinger-bands": "Bollinger Bands",
    "macd-strategy": "MACD Strategy",
}
"""Strategy keys (MODEL.md section 4) and their display names."""

LABEL_MODES: dict[str, str] = {
    "performance": "Performance (look-ahead)",
    "rules": "Rules (earlier heuristic)",
}
"""Label modes and their display names."""

BOOKS: dict[str, str] = {
    "strategy": "Strategy",
    "q_filtered": "Q-filtered",
    "buy_and_hold": "Buy and hold",
}
"""The three books of a backtest, in display order, with their display names."""

BOOK_METRICS: dict[str, dict[str, str]] = {
    "total_return": {"label": "Total return", "unit": "fraction"},
    "cagr": {"label": "CAGR", "unit": "fraction"},
    "sharpe": {"label": "Sharpe", "unit": "ratio"},
    "sortino": {"label": "Sortino", "unit": "ratio"},
    "max_drawdown": {"label": "Max drawdown", "unit": "fraction"},
    "win_rate": {"label": "Win rate", "unit": "fraction"},
    "trades": {"label": "Trades", "unit": "count"},
    "exposure": {"label": "Exposure", "unit": "fraction"},
}
"""The metrics of every book, in display order, with their display names and units (a
``fraction`` is shown as a percentage)."""

METRICS: dict[str, dict[str, str]] = {
    "mse": {"label": "MSE", "better": "lower"},
    "mae": {"label": "MAE", "better": "lower"},
    "rmse": {"label": "RMSE", "better": "lower"},
    "r2": {"label": "R²", "better": "higher"},
    "ic": {"label": "IC (Pearson)", "better": "higher"},
    "rank_ic": {"label": "Rank IC (Spearman)", "better": "higher"},
}
"""The test-split regression metrics, their display names and which direction is better."""
LOWER_IS_BETTER: frozenset[str] = frozenset(
    name for name, metric in METRICS.items() if metric["better"] == "lower"
)
"""Metrics where the smallest value is best (for the others: the largest)."""

DEMO = "demo"
"""The dataset reference of the built-in demo data."""
DEMO_TITLE = "bitcoin-demo"
"""How the dashboard and the legacy API name the demo dataset."""
DEMO_DAYS = 1095
"""Calendar days of demo data by default (three years of daily bars)."""
DEMO_FREQ = "1d"
"""Bar spacing of demo data by default."""

LONGEST_WINDOW = 50
"""Bars of history the slowest indicator (SMA50) needs; ``ssots.features`` builds on it."""
WARMUP_BARS = LONGEST_WINDOW - 1
"""Leading rows whose dimensions are NaN (49): from row ``WARMUP_BARS`` on, all 8 are
defined. The slowest input is SMA50 (first value at row 49); MACD needs 33 rows, the
others fewer. ``ssots.features`` re-exports it."""
MIN_BLOCK_ROWS = 10
"""Fewest rows a train, validation or test block may keep after the purge
(``ssots.splits`` enforces it)."""
MAX_GAP_SPACINGS = 10.0
"""Longest hole training accepts without ``allow_gaps``: a step between two bars of more
than this many median bar spacings is refused (indicators and labels would run across it).
The loader reports every gap above ``ssots.data.market.GAP_MULTIPLE`` (3) spacings."""
DEFAULT_SPLIT: tuple[float, float, float] = (0.6, 0.2, 0.2)
SPLIT_PATTERN = r"\s*[0-9.]+\s*,\s*[0-9.]+\s*,\s*[0-9.]+\s*"
"""What a split typed as text looks like (``0.6,0.2,0.2``); ``parse_split`` checks the sum."""
DEMO_FREQS: dict[str, str] = {"1d": "daily", "4h": "4-hourly", "1h": "hourly", "15m": "15-minute"}
"""Bar spacings the demo generator offers in the interfaces."""
DEFAULT_HORIZON = 5
DEFAULT_FEE_BP = 10.0
DEFAULT_RUIN_FLOOR = 0.0
"""A book is ruined (stops trading) when its equity falls to this fraction of its start."""
DEFAULT_EPOCHS = 500
DEFAULT_LR = 0.1
DEFAULT_MOMENTUM = 0.9
DEFAULT_WEIGHT_DECAY = 0.0
DEFAULT_PATIENCE = 20
DEFAULT_MIN_DELTA = 3e-4
DEFAULT_SEED = 42
MAX_SEED = 2**32 - 1
"""Largest seed (NumPy's seeding takes 32-bit values)."""


class JobStatus(StrEnum):
    """Where a job is in its life: queued -> running -> succeeded | failed | cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        """True once the job has ended (it never changes status again)."""
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


def check_strategy(strategy: str) -> str:
    """Return ``strategy`` if it is a known key, else raise naming the closest one.

    Raises:
        ParameterError: unknown strategy; the message lists the choices.
    """
    if strategy in STRATEGIES:
        return strategy
    close = difflib.get_close_matches(strategy, list(STRATEGIES), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ParameterError(
        f"unknown strategy {strategy!r}; {hint}choose one of {', '.join(STRATEGIES)}"
    )


def parse_split(text: str | Sequence[float]) -> tuple[float, float, float]:
    """Read split ratios from ``"0.6,0.2,0.2"`` or a sequence of three numbers.

    Raises:
        ParameterError: not three positive fractions that sum to 1.
    """
    hint = "must be three fractions that sum to 1, e.g. 0.6,0.2,0.2"
    try:
        parts = [float(p) for p in text.split(",")] if isinstance(text, str) else list(text)
    except (TypeError, ValueError):
        raise ParameterError(f"{hint}; got {text!r}") from None
    if len(parts) != 3 or min(parts) <= 0 or abs(sum(parts) - 1.0) > 1e-6:
        raise ParameterError(f"{hint}; got {text!r}")
    return parts[0], parts[1], parts[2]


def _min_labelled_rows(split: Sequence[float], lookahead: int) -> int:
    """Fewest labelled rows n such that ``splits.chronological_split`` keeps at least
    ``MIN_BLOCK_ROWS`` rows in every block for n and every larger count.

    The split cuts at round(n r1) and round(n (r1 + r2)), each within 0.5 of n r1 and
    n (r1 + r2), and purges ``lookahead`` rows from the first two blocks, so the blocks keep
    at least n r1 - 0.5 - L, n r2 - 1 - L and n r3 - 0.5 rows (r3 = 1 - r1 - r2). Each bound
    grows with n; the smallest n meeting all three is the answer (a few rows above the
    smallest count that happens to split, which rounding makes non-monotone)."""
    r1, r2, _ = parse_split(split)
    r3 = 1.0 - (r1 + r2)
    needs = (
        (MIN_BLOCK_ROWS + lookahead + 0.5) / r1,
        (MIN_BLOCK_ROWS + lookahead + 1.0) / ((r1 + r2) - r1),
        (MIN_BLOCK_ROWS + 0.5) / r3,
    )
    return max(math.ceil(need) for need in needs)


def min_rows(split: Sequence[float] = DEFAULT_SPLIT, lookahead: int = DEFAULT_HORIZON) -> int:
    """Fewest bars a run with ``split`` and labels reading ``lookahead`` bars ahead trains
    on: the indicator warm-up (``WARMUP_BARS``), the labelled rows the split needs (every
    block keeps ``MIN_BLOCK_ROWS`` after the purge) and the last ``lookahead`` bars, which
    have no label. 134 for the default split and horizon. The one formula: the loader's
    ``MIN_ROWS`` and ``pipeline.prepare`` both use it.

    Raises:
        ParameterError: a bad split or a negative ``lookahead``.
    """
    if lookahead < 0:
        raise ParameterError(f"`lookahead` must be >= 0 bars, got {lookahead}")
    return WARMUP_BARS + _min_labelled_rows(split, lookahead) + lookahead


def min_rows_reason(
    split: Sequence[float] = DEFAULT_SPLIT, lookahead: int = DEFAULT_HORIZON
) -> str:
    """How ``min_rows`` adds up, for messages: ``49 warm-up bars + 80 labelled rows (split
    0.6/0.2/0.2, each block >= 10 rows after a 5-row purge) + 5 bars of label horizon``."""
    ratios = "/".join(f"{part:g}" for part in parse_split(split))
    return (
        f"{WARMUP_BARS} warm-up bars + {_min_labelled_rows(split, lookahead)} labelled rows "
        f"(split {ratios}, each block >= {MIN_BLOCK_ROWS} rows after a {lookahead}-row purge) "
        f"+ {lookahead} bars of label horizon"
    )


@dataclass(frozen=True)
class FieldInfo:
    """How one ``RunSpec`` field appears in the interfaces.

    Attributes:
        name: the ``RunSpec`` field.
        label: the form's label (also the docs table's).
        flag: the CLI option, e.g. ``--fee``.
        api: the ``POST /api/train`` field (camelCase; snake_case is accepted too).
        group: the form section: ``data``, ``training``, ``labels`` or ``backtest``.
        step: the form's step for numbers (``1`` whole numbers, ``any`` reals).
    """

    name: str
    label: str
    flag: str
    api: str
    group: str
    step: str = "any"


def _field(
    default: Any,
    label: str,
    group: str,
    help: str,
    *,
    flag: str | None = None,
    api: str | None = None,
    step: str = "any",
    **constraints: Any,
) -> Any:
    """A pydantic ``Field`` whose interface metadata sits in ``json_schema_extra``."""
    extra = {"label": label, "group": group, "flag": flag, "api": api, "step": step}
    return Field(default, description=help, json_schema_extra={"ui": extra}, **constraints)


class RunSpec(BaseModel):
    """Everything that defines a training run. Same spec and data give identical weights."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = _field(
        DEMO,
        "Dataset",
        "data",
        "`demo`, a CSV/Parquet path, a registered dataset, or kaggle:OWNER/SLUG[/FILE]",
    )
    strategy: Literal[*STRATEGIES] = _field(  # type: ignore[valid-type]
        "momentum-cross", "Strategy", "data", "strategy whose calls the Q-score rates"
    )
    demo_days: int = _field(
        DEMO_DAYS, "Demo days", "data", "calendar days of demo data", step="1", ge=90, le=36_500
    )
    demo_freq: Literal[*DEMO_FREQS] = _field(  # type: ignore[valid-type]
        DEMO_FREQ, "Demo bar spacing", "data", "bar spacing of demo data"
    )
    allow_gaps: bool = _field(
        False,
        "Allow gaps",
        "data",
        f"train across holes longer than {MAX_GAP_SPACINGS:g} bar spacings "
        "(indicators and labels then span the hole)",
    )
    labels: Literal[*LABEL_MODES] = _field(  # type: ignore[valid-type]
        "performance", "Label mode", "labels", "what the model learns to predict"
    )
    horizon: int = _field(
        DEFAULT_HORIZON,
        "Horizon (bars)",
        "labels",
        "bars a label looks ahead",
        step="1",
        ge=1,
        le=500,
    )
    split: tuple[float, float, float] = _field(
        DEFAULT_SPLIT, "Split", "labels", "train, validation, test fractions (sum to 1)"
    )
    epochs: int = _field(
        DEFAULT_EPOCHS,
        "Epochs",
        "training",
        "most epochs; early stopping may end sooner",
        step="1",
        ge=1,
        le=100_000,
    )
    lr: float = _field(
        DEFAULT_LR, "Learning rate", "training", "step size", api="learningRate", gt=0, le=10
    )
    momentum: float = _field(
        DEFAULT_MOMENTUM, "Momentum", "training", "heavy-ball momentum", ge=0, lt=1
    )
    weight_decay: float = _field(
        DEFAULT_WEIGHT_DECAY,
        "Weight decay",
        "training",
        "L2 penalty on all 13 parameters",
        ge=0,
        le=1,
    )
    patience: int = _field(
        DEFAULT_PATIENCE,
        "Patience",
        "training",
        "epochs without validation gain before stopping",
        step="1",
        ge=1,
        le=100_000,
    )
    min_delta: float = _field(
        DEFAULT_MIN_DELTA,
        "Min. improvement",
        "training",
        "relative validation-loss decrease that counts as a gain",
        ge=0,
        lt=1,
    )
    batch_size: int | None = _field(
        None,
        "Batch size",
        "training",
        "shuffled mini-batch rows (unset: full batch)",
        step="1",
        ge=1,
        le=10_000_000,
    )
    seed: int = _field(
        DEFAULT_SEED,
        "Seed",
        "training",
        "seed of demo data, label noise and shuffling",
        step="1",
        ge=0,
        le=MAX_SEED,
    )
    threshold: float | None = _field(
        None,
        "Q threshold",
        "backtest",
        "Q-filter threshold (unset: median predicted Q on the training rows)",
        ge=0,
        le=1,
    )
    threshold_quantile: float | None = _field(
        None,
        "Q threshold quantile",
        "backtest",
        "Q-filter threshold as this quantile of the raw Q on the training rows "
        "(unset: the median; `threshold` wins when both are set)",
        gt=0,
        lt=1,
    )
    fee_bp: float = _field(
        DEFAULT_FEE_BP,
        "Fee (bp)",
        "backtest",
        "fee per unit of position change, basis points",
        flag="--fee",
        ge=0,
        le=1000,
    )
    slippage_bp: float = _field(
        0.0,
        "Slippage (bp)",
        "backtest",
        "slippage per unit of position change, basis points",
        flag="--slippage",
        ge=0,
        le=1000,
    )
    walk_forward: int | None = _field(
        None,
        "Walk-forward folds",
        "backtest",
        "also validate with this many expanding-window folds (unset: none)",
        step="1",
        ge=2,
        le=20,
    )

    @field_validator("strategy", mode="before")
    @classmethod
    def _known_strategy(cls, value: Any) -> Any:
        return check_strategy(value) if isinstance(value, str) else value

    @field_validator("split", mode="before")
    @classmethod
    def _valid_split(cls, value: Any) -> tuple[float, float, float]:
        return parse_split(value)

    @classmethod
    def build(cls, name_of: Callable[[str], str] | None = None, **values: Any) -> RunSpec:
        """Validate ``values`` into a spec.

        Args:
            name_of: how the caller's user names a field (e.g. ``fee_bp`` -> ``--fee``);
                default: the field's own name.
            values: field values.

        Raises:
            InvalidFieldsError: one issue per invalid field, each naming the field as
                ``name_of`` gives it.
        """
        try:
            return cls(**values)
        except ValidationError as exc:
            raise InvalidFieldsError(_issues(exc, name_of or (lambda name: name))) from None


def _issues(exc: ValidationError, name_of: Callable[[str], str]) -> list[FieldIssue]:
    """One issue per error of ``exc``, the field named as the user names it."""
    issues = []
    for error in exc.errors(include_input=False, include_context=False, include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        message = str(error["msg"]).removeprefix("Value error, ")
        shown = name_of(field) if field in RunSpec.model_fields else field
        issues.append(FieldIssue(shown, message, str(error["type"])))
    return issues


def _field_infos() -> dict[str, FieldInfo]:
    infos = {}
    for name, field in RunSpec.model_fields.items():
        ui = field.json_schema_extra["ui"]  # type: ignore[index]
        infos[name] = FieldInfo(
            name=name,
            label=ui["label"],
            flag=ui["flag"] or "--" + name.replace("_", "-"),
            api=ui["api"] or _camel(name),
            group=ui["group"],
            step=ui["step"],
        )
    return infos


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


FIELDS: dict[str, FieldInfo] = _field_infos()
"""Interface metadata of every ``RunSpec`` field, in the spec's order."""


def field_schema(name: str) -> dict[str, Any]:
    """One field as ``GET /api/spec`` and the form show it: names, label, help, type,
    default, bounds and choices.

    Raises:
        KeyError: ``name`` is not a ``RunSpec`` field.
    """
    info = FIELDS[name]
    field = RunSpec.model_fields[name]
    bounds = dict.fromkeys(("minimum", "maximum", "exclusive_minimum", "exclusive_maximum"))
    for item in field.metadata:
        for attr, key in (
            ("ge", "minimum"),
            ("le", "maximum"),
            ("gt", "exclusive_minimum"),
            ("lt", "exclusive_maximum"),
        ):
            if getattr(item, attr, None) is not None:
                bounds[key] = getattr(item, attr)
    choices = {"strategy": STRATEGIES, "labels": LABEL_MODES, "demo_freq": DEMO_FREQS}.get(name)
    default = field.default
    return {
        "name": name,
        "api": info.api,
        "flag": info.flag,
        "label": info.label,
        "help": field.description,
        "group": info.group,
        "type": _kind(name),
        "step": info.step,
        "default": ",".join(f"{v:g}" for v in default) if name == "split" else default,
        "optional": default is None,
        "choices": choices,
        "pattern": SPLIT_PATTERN if name == "split" else None,
        **bounds,
    }


def _kind(name: str) -> str:
    if RunSpec.model_fields[name].annotation is bool:
        return "boolean"
    if name in ("strategy", "labels", "demo_freq"):
        return "choice"
    if name in ("dataset", "split"):
        return "text"
    return "integer" if FIELDS[name].step == "1" else "number"


def vocabulary() -> dict[str, Any]:
    """The vocabularies the dashboard's scripts read (``GET /api/spec`` and every page)."""
    return {
        "fields": [field_schema(name) for name in FIELDS],
        "strategies": STRATEGIES,
        "labelModes": LABEL_MODES,
        "books": BOOKS,
        "bookMetrics": BOOK_METRICS,
        "metrics": METRICS,
        "jobStatuses": [status.value for status in JobStatus],
        "finalStatuses": [status.value for status in JobStatus if status.is_final],
        "demo": {"dataset": DEMO, "title": DEMO_TITLE, "days": DEMO_DAYS},
    }


def settings_table() -> str:
    """The run settings as a Markdown table (docs/model.md carries it verbatim)."""
    lines = [
        "| setting | CLI | API | default | range |",
        "|---|---|---|---|---|",
    ]
    for name in FIELDS:
        schema = field_schema(name)
        lines.append(
            f"| {schema['label']} | `{schema['flag']}` | `{schema['api']}` | "
            f"{_shown(schema['default'])} | {range_text(schema)} |"
        )
    return "\n".join(lines)


def _shown(value: Any) -> str:
    return "none" if value is None else f"`{value}`"


def range_text(schema: Mapping[str, Any]) -> str:
    """A field's choices or bounds as text: ``[1, 100000]``, ``(0, 10]``, or the choices."""
    if schema["choices"]:
        return ", ".join(f"`{key}`" for key in schema["choices"])
    low = schema["minimum"] if schema["minimum"] is not None else schema["exclusive_minimum"]
    high = schema["maximum"] if schema["maximum"] is not None else schema["exclusive_maximum"]
    if low is None and high is None:
        return ""
    left = "[" if schema["minimum"] is not None else "("
    right = "]" if schema["maximum"] is not None else ")"
    return f"{left}{_number(low)}, {_number(high)}{right}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


if __name__ == "__main__":
    print(settings_table())
