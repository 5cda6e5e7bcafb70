"""Comparing trainings: tracked runs (``ssots runs compare``, ``GET /api/runs/compare``)
or versions of a registered model (``ssots models diff``). One shape for both, ready for
a compare view: the settings that differ, the metrics with the best value marked, the 13
parameters side by side with their deltas, the loss histories, the equity curves of the
Q-filtered books, and a warning when the data differ."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ssots.errors import ParameterError
from ssots.spec import LOWER_IS_BETTER

__all__ = [
    "Comparable",
    "comparable_run",
    "comparable_version",
    "compare",
]

MAX_COMPARED = 10
"""Most trainings one comparison takes."""


@dataclass(frozen=True)
class Comparable:
    """What a comparison reads of one training."""

    id: str
    label: str
    spec: dict[str, Any]
    metrics: dict[str, Any]
    parameters: dict[str, float]
    history: list[dict[str, Any]]
    backtest: dict[str, Any]
    dataset: dict[str, Any]
    evidence: dict[str, Any] | None = None


def comparable_run(run: Any) -> Comparable:
    """A tracked run (``store.runs.RunRecord``) as a comparable."""
    return Comparable(
        id=run.id,
        label=run.name,
        spec=run.spec,
        metrics=run.metrics,
        parameters=run.weights.get("parameters", {}),
        history=run.history,
        backtest=run.backtest,
        dataset={
            "name": run.dataset_name,
            "fingerprint": run.dataset_fingerprint,
            "start": run.dataset_start,
            "end": run.dataset_end,
        },
        evidence=run.weights.get("evidence"),
    )


def comparable_version(version: Any) -> Comparable:
    """A model version (``store.registry.VersionRecord``) as a comparable: its settings
    are its run's spec when it came from a run, else what the weights document records."""
    weights = version.weights
    spec = version.lineage.get("spec") or {
        "strategy": weights.get("strategy"),
        "labels": weights.get("labels"),
        "horizon": weights.get("horizon"),
        **{k: v for k, v in weights.get("training", {}).items() if not isinstance(v, dict)},
    }
    data = weights.get("data", {})
    return Comparable(
        id=str(version.version),
        label=f"{version.model}/{version.version}",
        spec=spec,
        metrics=version.metrics,
        parameters=weights.get("parameters", {}),
        history=weights.get("history", []),
        backtest=weights.get("backtest", {}),
        dataset={
            "name": data.get("name"),
            "fingerprint": version.fingerprint,
            "start": data.get("start"),
            "end": data.get("end"),
        },
        evidence=weights.get("evidence"),
    )


def _best(metric: str, values: list[Any]) -> int | None:
    numbers = [(v, i) for i, v in enumerate(values) if isinstance(v, int | float)]
    if len(numbers) < 2 or len({v for v, _ in numbers}) == 1:
        return None
    pick = min if metric in LOWER_IS_BETTER else max
    return pick(numbers)[1]


def compare(items: list[Comparable], *, all_fields: bool = False) -> dict[str, Any]:
    """The comparison of ``items`` (the first is the reference of the deltas).

    Args:
        items: two to ten trainings.
        all_fields: list every setting, not only those that differ.

    Returns:
        ``runs`` (id, label), ``spec`` (field -> values, one per run; only the differing
        fields unless ``all_fields``), ``metrics`` (metric -> values, ``best``: the index
        of the best value or None when all are equal), ``parameters`` (parameter -> values
        and ``deltas`` from the first), ``histories`` (per run: epoch, train_loss,
        val_loss), ``equity`` (per run: times and the Q-filtered book's equity),
        ``evidence`` (per run: its recorded ``verdict`` with its scope, ``skill``, the
        ranking test's ``p_value`` and, across the compared runs, the Benjamini-Hochberg
        ``adjusted_p``, ``adjusted_verdict`` and ``adjusted_skill``; None values for a run
        recorded without evidence),
        ``different_data`` (whether the data fingerprints differ) and ``warnings``.

    Raises:
        ParameterError: fewer than two or more than ten items.
    """
    if not 2 <= len(items) <= MAX_COMPARED:
        raise ParameterError(f"compare 2 to {MAX_COMPARED} runs, got {len(items)}")
    fields = list(dict.fromkeys(key for item in items for key in item.spec))
    spec = {}
    for field in fields:
        values = [item.spec.get(field) for item in items]
        if all_fields or any(value != values[0] for value in values):
            spec[field] = values
    metric_names = list(dict.fromkeys(key for item in items for key in item.metrics))
    metrics = {}
    for metric in metric_names:
        values = [item.metrics.get(metric) for item in items]
        metrics[metric] = {
            "values": values,
            "best": _best(metric, values),
            "lower_is_better": metric in LOWER_IS_BETTER,
        }
    parameter_names = list(dict.fromkeys(key for item in items for key in item.parameters))
    parameters = {}
    for name in parameter_names:
        values = [item.parameters.get(name) for item in items]
        first = values[0]
        parameters[name] = {
            "values": values,
            "deltas": [
                None if v is None or first is None else v - first for v in values
            ],
        }
    fingerprints = [item.dataset.get("fingerprint") for item in items]
    different = len(set(fingerprints)) > 1
    warnings = []
    if different:
        names = ", ".join(f"{item.label}: {item.dataset.get('name')}" for item in items)
        warnings.append(
            "the runs trained on different data (their fingerprints differ), so their "
            f"metrics are not directly comparable ({names})"
        )
    return {
        "runs": [
            {"id": item.id, "label": item.label, "dataset": item.dataset} for item in items
        ],
        "spec": spec,
        "metrics": metrics,
        "parameters": parameters,
        "histories": [
            {
                "id": item.id,
                "points": [
                    {key: point.get(key) for key in ("epoch", "train_loss", "val_loss")}
                    for point in item.history
                ],
            }
            for item in items
        ],
        "equity": [
            {
                "id": item.id,
                "times": item.backtest.get("equity", {}).get("times", []),
                "q_filtered": item.backtest.get("equity", {}).get("q_filtered", []),
            }
            for item in items
        ],
        "evidence": _evidence(items),
        "different_data": different,
        "warnings": warnings,
    }


def _evidence(items: list[Comparable]) -> list[dict[str, Any]]:
    """Each item's verdict, and the verdicts with BH control across the items."""
    from ssots.evidence import headline, headline_section, report_verdicts

    sections = [
        None if item.evidence is None else headline_section(item.evidence) for item in items
    ]
    adjusted = report_verdicts(sections)
    out = []
    for item, report in zip(items, adjusted, strict=True):
        found = item.evidence
        out.append(
            {
                "id": item.id,
                "scope": None if found is None else found["scope"],
                "verdict": headline({"evidence": found}),
                "skill": None if found is None else found["skill"],
                "p_value": None if report is None else report["p_value"],
                "adjusted_p": None if report is None else report["adjusted_p"],
                "adjusted_verdict": None if report is None else report["verdict"],
                "adjusted_skill": None if report is None else report["skill"],
            }
        )
    return out
