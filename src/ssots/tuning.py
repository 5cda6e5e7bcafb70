"""What a tuning study is: its defaults, objectives and search space, in one home.

``ssots tune``, ``POST /api/studies``, the dashboard's study form and docs/tuning.md all
derive from this module; none of them restates a value.

- ``TUNE_DEFAULTS``: trials, parallel trials, objective, timeout, inner folds, pruning.
- ``OBJECTIVES``: what each objective measures, on which rows, and its direction.
- ``DEFAULT_SPACE`` / ``default_space``: the search space when none is given; ``parse_space``
  reads a JSON or YAML space file (format in docs/tuning.md) and checks every bound
  against ``RunSpec``'s ranges.
- ``StudySpec``: the validated settings of one study; ``StudyStatus``, ``TrialState``.

Honesty rules (docs/tuning.md): objectives read the training and validation rows only;
the test split is used once, by the refit of the best trial when the study ends.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ssots.errors import FieldIssue, InvalidFieldsError, ParameterError
from ssots.spec import (
    DEFAULT_SEED,
    DEMO,
    LABEL_MODES,
    MAX_SEED,
    STRATEGIES,
    RunSpec,
    check_strategy,
)

__all__ = [
    "DEFAULT_SPACE",
    "OBJECTIVES",
    "TUNE_DEFAULTS",
    "Dimension",
    "StudySpec",
    "StudyStatus",
    "TrialState",
    "default_space",
    "parse_duration",
    "parse_space",
    "read_space_file",
]

OBJECTIVES: dict[str, dict[str, str]] = {
    "val_rank_ic": {
        "label": "Validation rank IC",
        "direction": "maximize",
        "rows": "validation split",
        "help": "Spearman correlation of the raw Q with the label on the validation rows",
    },
    "val_mse": {
        "label": "Validation MSE",
        "direction": "minimize",
        "rows": "validation split",
        "help": "mean squared error of the calibrated Q on the validation rows",
    },
    "wf_sharpe": {
        "label": "Walk-forward Sharpe",
        "direction": "maximize",
        "rows": "inner walk-forward folds of the training + validation rows",
        "help": "mean annualised Sharpe ratio of the Q-filtered book over inner "
        "walk-forward folds of the training + validation rows",
    },
}
"""Objective keys, display names, direction and the rows each one reads (never the test
split)."""
TRADING_OBJECTIVES = frozenset({"wf_sharpe"})
"""Objectives that judge trades: only these may tune the label horizon (it changes the
target the others measure) and the Q-filter threshold (the others never read it)."""

TUNE_DEFAULTS: dict[str, Any] = {
    "trials": 50,
    "parallel": 2,
    "objective": "val_rank_ic",
    "timeout": None,
    "folds": 3,
    "epochs": 500,
    "prune": True,
    "reports": 20,
    "startup_trials": 4,
    "warmup_steps": 2,
}
"""Study defaults: ``trials`` finished (complete or pruned) trials to run, ``parallel``
trials at once, the ``objective``, ``timeout`` seconds (None: none), inner walk-forward
``folds`` of ``wf_sharpe``, most ``epochs`` per trial, whether to ``prune`` trials
(the median pruner), an intermediate value every
``reports`` per trial (its epochs in equal steps, or one per inner fold), and the median
pruner's ``startup_trials``
(trials before any pruning) and ``warmup_steps`` (reports of a trial before it may be
pruned)."""
MAX_TRIALS = 10_000
MAX_PARALLEL = 64
MAX_FOLDS = 10


class StudyStatus(StrEnum):
    """Where a study is: running -> refitting -> finished | stopped | failed."""

    RUNNING = "running"
    REFITTING = "refitting"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        """True once the study has ended."""
        return self in (StudyStatus.FINISHED, StudyStatus.STOPPED, StudyStatus.FAILED)


class TrialState(StrEnum):
    """A trial as the study counts it (Optuna's states, lower case)."""

    RUNNING = "running"
    COMPLETE = "complete"
    PRUNED = "pruned"
    FAIL = "fail"

    @property
    def is_finished(self) -> bool:
        """Complete or pruned: counts towards the study's trials."""
        return self in (TrialState.COMPLETE, TrialState.PRUNED)


class Dimension(BaseModel):
    """One tuned setting: a ``float`` or ``int`` range (``log`` scale optional, ``step``
    for ints) or a ``categorical`` list of choices (``null`` is a choice: unset)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["float", "int", "categorical"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: int | None = None
    choices: list[float | int | str | None] | None = None

    def bounds_or_choices(self) -> list[Any]:
        """The values a trial may take at the edges (the bounds, or every choice)."""
        if self.type == "categorical":
            return list(self.choices or [])
        return [self.low, self.high]


DEFAULT_SPACE: dict[str, dict[str, Any]] = {
    "lr": {"type": "float", "low": 0.005, "high": 1.0, "log": True},
    "momentum": {"type": "float", "low": 0.0, "high": 0.95},
    "weight_decay": {"type": "float", "low": 1e-6, "high": 1e-2, "log": True},
    "patience": {"type": "int", "low": 5, "high": 60},
    "batch_size": {"type": "categorical", "choices": [None, 64, 256]},
    "threshold_quantile": {"type": "float", "low": 0.2, "high": 0.8},
    "horizon": {"type": "int", "low": 1, "high": 20},
}
"""The default search space (``null`` batch size: full batch). ``threshold_quantile`` and
``horizon`` are searched only by trading objectives (``TRADING_OBJECTIVES``)."""
TRADING_ONLY = frozenset({"threshold_quantile", "horizon"})
NOT_TUNABLE = frozenset({"dataset", "strategy", "seed", "split", "labels", "demo_freq"})
"""Settings a space may not search: they define the data, its split or the study's seed."""


def default_space(objective: str) -> dict[str, Dimension]:
    """The default space for ``objective`` (without the trading-only settings for the
    validation objectives)."""
    return {
        name: Dimension(**dimension)
        for name, dimension in DEFAULT_SPACE.items()
        if objective in TRADING_OBJECTIVES or name not in TRADING_ONLY
    }


def parse_space(raw: Any, objective: str) -> dict[str, Dimension]:
    """Validate a space (a mapping of setting -> dimension, as a space file holds it).

    Every setting must be a ``RunSpec`` field that may be tuned, and both bounds (or every
    choice) must be valid values of it; the label horizon and the Q-filter threshold may be
    searched only by a trading objective.

    Raises:
        ParameterError: the space is malformed, names an unknown or untunable setting, or
            a bound outside the setting's range (the message names it).
    """
    if not isinstance(raw, dict) or not raw:
        raise ParameterError(
            "a search space must be a non-empty mapping of setting -> dimension, e.g. "
            '{"lr": {"type": "float", "low": 0.01, "high": 1, "log": true}}'
        )
    space: dict[str, Dimension] = {}
    for name, spec in raw.items():
        if name not in RunSpec.model_fields or name in NOT_TUNABLE:
            tunable = sorted(set(RunSpec.model_fields) - NOT_TUNABLE)
            raise ParameterError(
                f"the space names {name!r}, which cannot be tuned; choose among "
                f"{', '.join(tunable)}"
            )
        if name in TRADING_ONLY and objective not in TRADING_OBJECTIVES:
            raise ParameterError(
                f"{name!r} changes what the {objective} objective does not measure (only "
                f"{', '.join(sorted(TRADING_OBJECTIVES))} may tune it); remove it from the space"
            )
        try:
            dimension = Dimension(**spec) if isinstance(spec, dict) else Dimension(type=spec)
        except (ValidationError, TypeError) as exc:
            raise ParameterError(f"space entry {name!r} is malformed: {_first(exc)}") from None
        _check_dimension(name, dimension)
        space[name] = dimension
    return space


def _first(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        return f"{where}: {error['msg']}" if where else str(error["msg"])
    return str(exc)


def _check_dimension(name: str, dimension: Dimension) -> None:
    if dimension.type == "categorical":
        if not dimension.choices:
            raise ParameterError(f"space entry {name!r}: a categorical needs `choices`")
    else:
        if dimension.low is None or dimension.high is None or dimension.low >= dimension.high:
            raise ParameterError(f"space entry {name!r}: needs `low` < `high`")
        if dimension.log and dimension.low <= 0:
            raise ParameterError(f"space entry {name!r}: a log scale needs `low` > 0")
        if dimension.type == "int" and not (
            float(dimension.low).is_integer() and float(dimension.high).is_integer()
        ):
            raise ParameterError(f"space entry {name!r}: an int range needs whole bounds")
    for value in dimension.bounds_or_choices():
        shown = int(value) if dimension.type == "int" else value
        try:
            RunSpec(**{name: shown})
        except ValidationError as exc:
            message = exc.errors(include_url=False)[0]["msg"]
            raise ParameterError(
                f"space entry {name!r}: {shown!r} is not a valid value ({message})"
            ) from None


def read_space_file(path: Path, objective: str) -> dict[str, Dimension]:
    """Read and validate a space file (``.json``, or ``.yaml`` / ``.yml``).

    Raises:
        ParameterError: the file is missing, unreadable, or not a valid space.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ParameterError(f"cannot read the space file {path}: {exc.strerror}") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            raw = yaml.safe_load(text)
        else:
            raw = json.loads(text)
    except ValueError as exc:  # JSONDecodeError and yaml.YAMLError's parse errors
        raise ParameterError(f"the space file {path} is not valid: {exc}") from None
    except Exception as exc:  # yaml.YAMLError does not derive from ValueError
        raise ParameterError(f"the space file {path} is not valid YAML: {exc}") from None
    return parse_space(raw, objective)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | float | int | None) -> float | None:
    """Seconds from ``90``, ``"90s"``, ``"30m"``, ``"2h"`` or ``"1d"`` (None: no limit).

    Raises:
        ParameterError: not a positive duration.
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        match = _DURATION.match(text)
        if match is None:
            raise ParameterError(
                f"`timeout` must be a duration such as 30m, 2h or 90s; got {text!r}"
            )
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ParameterError(f"`timeout` must be positive; got {text!r}")
    return seconds


class StudySpec(BaseModel):
    """Everything that defines a study. The base run settings are ``RunSpec``'s defaults
    with ``dataset``, ``strategy``, ``labels``, ``seed`` and ``epochs`` from here; each
    trial sets the space's settings on top."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = Field(DEMO, min_length=1, max_length=400)
    strategy: str = "momentum-cross"
    labels: Literal[*LABEL_MODES] = "performance"  # type: ignore[valid-type]
    objective: Literal[*OBJECTIVES] = TUNE_DEFAULTS["objective"]  # type: ignore[valid-type]
    trials: int = Field(TUNE_DEFAULTS["trials"], ge=1, le=MAX_TRIALS)
    parallel: int = Field(TUNE_DEFAULTS["parallel"], ge=1, le=MAX_PARALLEL)
    timeout: float | None = Field(TUNE_DEFAULTS["timeout"], gt=0)
    seed: int = Field(DEFAULT_SEED, ge=0, le=MAX_SEED)
    epochs: int = Field(TUNE_DEFAULTS["epochs"], ge=1, le=100_000)
    folds: int = Field(TUNE_DEFAULTS["folds"], ge=2, le=MAX_FOLDS)
    prune: bool = TUNE_DEFAULTS["prune"]
    space: dict[str, Dimension] | None = None
    """None: ``default_space(objective)``."""

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        return check_strategy(value)

    @classmethod
    def build(cls, **values: Any) -> StudySpec:
        """Validate ``values`` (a raw ``space`` mapping is checked with ``parse_space``).

        Raises:
            InvalidFieldsError: one issue per invalid field.
            ParameterError: an invalid space.
        """
        raw_space = values.pop("space", None)
        values["timeout"] = parse_duration(values.get("timeout"))
        try:
            spec = cls(**values)
        except ValidationError as exc:
            issues = [
                FieldIssue(
                    str(error["loc"][0]) if error["loc"] else "",
                    str(error["msg"]).removeprefix("Value error, "),
                    str(error["type"]),
                )
                for error in exc.errors(include_url=False, include_context=False)
            ]
            raise InvalidFieldsError(issues) from None
        if raw_space is None:
            return spec
        if not isinstance(raw_space, dict):
            raise ParameterError("`space` must be a mapping of setting -> dimension")
        raw = {
            name: dimension.model_dump() if isinstance(dimension, Dimension) else dimension
            for name, dimension in raw_space.items()
        }
        return spec.model_copy(update={"space": parse_space(raw, spec.objective)})

    @property
    def direction(self) -> str:
        """``maximize`` or ``minimize``."""
        return OBJECTIVES[self.objective]["direction"]

    def search_space(self) -> dict[str, Dimension]:
        """The space searched: the given one or the objective's default."""
        return self.space if self.space is not None else default_space(self.objective)

    @property
    def report_every(self) -> int:
        """Epochs between a trial's intermediate values (``TUNE_DEFAULTS["reports"]`` of
        them over ``epochs``; the same steps for every trial, as the pruner compares)."""
        return max(1, -(-self.epochs // TUNE_DEFAULTS["reports"]))

    def base_run(self) -> dict[str, Any]:
        """The run settings every trial starts from (a ``RunSpec``'s fields)."""
        return {
            "dataset": self.dataset,
            "strategy": self.strategy,
            "labels": self.labels,
            "seed": self.seed,
            "epochs": self.epochs,
        }

    def trial_spec(self, params: dict[str, Any]) -> RunSpec:
        """The run settings of a trial with ``params``.

        Raises:
            InvalidFieldsError: a parameter outside its range.
        """
        return RunSpec.build(**{**self.base_run(), **params})


def vocabulary() -> dict[str, Any]:
    """What the study form and ``GET /api/spec`` show: defaults, objectives, the default
    space per objective and the strategies."""
    return {
        "defaults": TUNE_DEFAULTS,
        "objectives": OBJECTIVES,
        "strategies": STRATEGIES,
        "statuses": [status.value for status in StudyStatus],
        "finalStatuses": [status.value for status in StudyStatus if status.is_final],
        "defaultSpace": {
            objective: {name: d.model_dump() for name, d in default_space(objective).items()}
            for objective in OBJECTIVES
        },
    }


def defaults_table() -> str:
    """The study settings as a Markdown table (docs/tuning.md carries it verbatim)."""
    fields = StudySpec.model_fields
    flags = {"space": "--space FILE", "timeout": "--timeout", "prune": "--prune/--no-prune"}
    lines = ["| setting | CLI | API | default |", "|---|---|---|---|"]
    for name, field in fields.items():
        default = field.default
        shown = (
            "none"
            if default is None
            else f"`{str(default).lower() if isinstance(default, bool) else default}`"
        )
        flag = flags.get(name, f"--{name}")
        lines.append(f"| {name} | `{flag}` | `{name}` | {shown} |")
    return "\n".join(lines)


def objectives_table() -> str:
    """The objectives as a Markdown table (docs/tuning.md carries it verbatim)."""
    lines = ["| objective | direction | rows it reads | what it measures |", "|---|---|---|---|"]
    for name, objective in OBJECTIVES.items():
        lines.append(
            f"| `{name}` | {objective['direction']} | {objective['rows']} | {objective['help']} |"
        )
    return "\n".join(lines)


def space_table() -> str:
    """The default search space as a Markdown table (docs/tuning.md carries it verbatim)."""
    lines = ["| setting | type | range or choices | objectives |", "|---|---|---|---|"]
    for name, raw in DEFAULT_SPACE.items():
        dimension = Dimension(**raw)
        if dimension.type == "categorical":
            values = ", ".join(
                "full batch" if c is None else str(c) for c in dimension.choices or []
            )
        else:
            values = f"{dimension.low:g} .. {dimension.high:g}" + (
                " (log)" if dimension.log else ""
            )
        which = ", ".join(sorted(TRADING_OBJECTIVES)) if name in TRADING_ONLY else "all"
        lines.append(f"| {name} | {dimension.type} | {values} | {which} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(defaults_table(), objectives_table(), space_table(), sep="\n\n")
