"""The verdict line and the readers of evidence sections: ``verdict`` (the one function
that writes the line every interface shows), ``headline`` (a document's verdict),
``evidence_rows`` (the table rows every interface shows), ``report_verdicts`` (Benjamini-
Hochberg across the runs of a report)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ssots import stats

__all__ = [
    "ALPHA",
    "EVIDENCE_ROWS",
    "NO_EVIDENCE",
    "evidence_rows",
    "finite_or_none",
    "format_p",
    "headline",
    "headline_section",
    "report_verdicts",
    "verdict",
]

ALPHA = 0.05
"""A p-value below this is evidence against "no skill"."""


def format_p(p: float) -> str:
    """A p-value for people: two significant digits (``0.41``, ``0.003``)."""
    return f"{p:.2g}" if p >= 0.001 else f"{p:.1g}"


def verdict(evidence: Mapping[str, Any], *, adjusted_p: float | None = None) -> str:
    """The one-line verdict of an evidence section (``block_evidence``,
    ``pooled_evidence``), e.g. ``evidence of skill: rank IC 0.12 [0.05, 0.19], p = 0.003``.

    Args:
        evidence: the section.
        adjusted_p: the ranking p-value adjusted for the other runs of a report
            (Benjamini-Hochberg); the decision then uses it.

    Returns:
        The line: whether the raw Q's rank IC is evidence of skill (p below ``ALPHA``),
        the rank IC with its interval and p-value, what the Q-filter's Sharpe gain says,
        and for pooled folds the per-fold spread.
    """
    ranking, interval = evidence["ranking"], evidence["intervals"]["raw_rank_ic"]
    p = ranking["p_value"] if adjusted_p is None else adjusted_p
    gain = evidence["filter"]
    if p is None or interval["value"] is None:
        line = "no evidence of skill: the rank IC is undefined (the Q-score or labels are constant)"
        return line + _spread(evidence)
    p_text = f"p = {format_p(p)}" + ("" if adjusted_p is None else " (BH-adjusted)")
    ic = f"rank IC {interval['value']:.2f} {_bracket(interval)}, {p_text}"
    gain_p = gain["p_value"]
    filter_significant = gain_p is not None and gain_p < ALPHA
    gain_text = f"{gain['observed']:+.2f}" if gain["observed"] is not None else "undefined"
    if p < ALPHA:
        if filter_significant:
            tail = (
                f"; the Q-filter's Sharpe gain {gain_text} beats shifted filters "
                f"(p = {format_p(gain_p)})"
            )
        else:
            tail = (
                f"; the Q-filter's Sharpe gain {gain_text} is not significant"
                + ("" if gain_p is None else f" (p = {format_p(gain_p)})")
            )
        return f"evidence of skill: {ic}{tail}" + _spread(evidence)
    if filter_significant:
        tail = (
            f"; the Q-filter's Sharpe gain {gain_text} beats shifted filters "
            f"(p = {format_p(gain_p)}) without a ranking behind it"
        )
    else:
        tail = (
            ": this filter is indistinguishable from a random one with the same exposure"
            + ("" if gain_p is None else f" (Sharpe gain {gain_text}, p = {format_p(gain_p)})")
        )
    return f"no evidence of skill: {ic}{tail}" + _spread(evidence)


def _spread(evidence: Mapping[str, Any]) -> str:
    """``; by fold: rank IC -0.03 .. 0.08, p < 0.05 in 1 of 5`` for pooled folds."""
    folds = evidence.get("folds")
    if not folds:
        return ""
    values = [v for v in folds["raw_rank_ic"] if v is not None]
    significant = sum(1 for p in folds["p_value"] if p is not None and p < ALPHA)
    if not values:
        return ""
    return (
        f"; by fold: rank IC {min(values):.2f} .. {max(values):.2f}, positive in "
        f"{sum(v > 0 for v in values)} of {len(folds['raw_rank_ic'])}, p < {ALPHA} in "
        f"{significant}"
    )


def _bracket(interval: Mapping[str, Any]) -> str:
    if interval["low"] is None or interval["high"] is None:
        return "[no interval]"
    return f"[{interval['low']:.2f}, {interval['high']:.2f}]"


def finite_or_none(value: float) -> float | None:
    """None for None, NaN or an infinity, else the float."""
    return None if value is None or not math.isfinite(value) else float(value)



NO_EVIDENCE = "no evidence recorded: this result was made before SSO-TS computed evidence"
"""What readers show for a weights document or run without an evidence section."""


def headline(document: Mapping[str, Any] | None) -> str:
    """The verdict a weights document (or a run's weights) records, with its scope
    (``walk-forward, 5 folds pooled: ...``), or ``NO_EVIDENCE``."""
    found = (document or {}).get("evidence")
    if not found:
        return NO_EVIDENCE
    return f"{found['scope']}: {found['verdict']}"


EVIDENCE_ROWS: tuple[tuple[str, str], ...] = (
    ("raw_rank_ic", "rank IC (raw Q)"),
    ("rank_ic", "rank IC (calibrated Q)"),
    ("ic", "IC (calibrated Q)"),
)
"""The correlation intervals of an evidence section and how tables name them."""


def evidence_rows(section: Mapping[str, Any]) -> list[dict[str, Any]]:
    """An evidence section as table rows for every interface: ``statistic``, ``value``,
    ``low``, ``high`` (the interval, None when undefined) and ``test`` (a p-value or PSR
    in words, or None)."""
    intervals = section["intervals"]
    ranking_p = section["ranking"]["p_value"]
    rows = [
        {
            "statistic": title,
            **_ends(intervals[key]),
            "test": f"p = {format_p(ranking_p)}" if key == "raw_rank_ic" and ranking_p else None,
        }
        for key, title in EVIDENCE_ROWS
    ]
    psr = section.get("psr", {})
    for book, title in (("strategy", "strategy"), ("q_filtered", "Q-filtered"),
                        ("buy_and_hold", "buy & hold")):
        value = psr.get(book)
        rows.append(
            {
                "statistic": f"Sharpe {title}",
                **_ends(intervals["sharpe"][book]),
                "test": None if value is None else f"PSR {value:.2f}",
            }
        )
    gain = section["filter"]
    gain_interval = intervals.get("sharpe_gain") or {"value": gain["observed"]}
    rows.append(
        {
            "statistic": "Sharpe gain of the Q-filter"
            + (" (mean of folds)" if "folds" in section else ""),
            **_ends(gain_interval),
            "test": None if gain["p_value"] is None else f"p = {format_p(gain['p_value'])}",
        }
    )
    return rows


def _ends(interval: Mapping[str, Any]) -> dict[str, Any]:
    return {key: interval.get(key) for key in ("value", "low", "high")}


def headline_section(found: Mapping[str, Any]) -> Mapping[str, Any]:
    """The section a run's verdict comes from (``run_evidence``): the pooled folds when
    it has them, else the test split."""
    return found["walk_forward"] or found["test"]


def report_verdicts(sections: Sequence[Mapping[str, Any] | None]) -> list[dict[str, Any] | None]:
    """Verdicts for the runs of one report (a comparison, docs/results.md) with
    Benjamini-Hochberg control of the false discovery rate across them.

    Args:
        sections: each run's evidence section (``block_evidence`` or ``pooled_evidence``),
            or None for a run without one.

    Returns:
        Per run (None where there was no section): ``p_value`` (its ranking test),
        ``adjusted_p`` (BH over the runs with a p-value), ``skill`` (adjusted p below
        ``ALPHA``) and ``verdict`` (``verdict`` with the adjusted p-value).
    """
    p_values = [
        math.nan if s is None or s["ranking"]["p_value"] is None else s["ranking"]["p_value"]
        for s in sections
    ]
    adjusted = stats.benjamini_hochberg(p_values)
    out: list[dict[str, Any] | None] = []
    for section, p, q in zip(sections, p_values, adjusted, strict=True):
        if section is None:
            out.append(None)
            continue
        q_value = finite_or_none(float(q))
        out.append(
            {
                "p_value": finite_or_none(p),
                "adjusted_p": q_value,
                "skill": q_value is not None and q_value < ALPHA,
                "verdict": verdict(section, adjusted_p=q_value),
            }
        )
    return out
