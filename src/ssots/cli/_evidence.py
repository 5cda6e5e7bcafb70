"""The evidence tables and verdict lines the CLI prints (``ssots.evidence``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich import box
from rich.table import Table


def evidence_table(section: Mapping[str, Any], title: str) -> Table:
    """One row per statistic of an evidence section: value, 95 % interval, test."""
    from ssots.evidence import evidence_rows

    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("statistic", "value", f"{section['level']:.0%} interval", "test"):
        table.add_column(column, justify="left" if column == "statistic" else "right")
    for row in evidence_rows(section):
        table.add_row(
            row["statistic"], _number(row["value"]), _interval(row), row["test"] or ""
        )
    table.caption = (
        f"stationary bootstrap, {section['reps']} resamples, block lengths from the data "
        f"(Politis-White); p: circular shifts of the Q-score, seed {section['seed']}"
    )
    return table


def verdict_text(section: Mapping[str, Any]) -> str:
    """``Verdict (scope): ...`` for a run's evidence section, coloured by the decision."""
    colour = "green" if section["skill"] else "yellow"
    return f"[bold {colour}]Verdict ({section['scope']}):[/bold {colour}] {section['verdict']}"


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _interval(row: Mapping[str, Any]) -> str:
    if row["low"] is None or row["high"] is None:
        return "—"
    return f"[{row['low']:.3f}, {row['high']:.3f}]"
