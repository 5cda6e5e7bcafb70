"""The trader's views of a finished job or a registered model version: its test block
backtested again, for the trade list (``ssots.trades.trade_list``) and the charts.

Recomputed on demand, not stored. The series behind the views (every test bar's price,
the strategy's call and the raw Q) grow with the data: a minute file's test block has
10^5 bars and more, and a job row or a run row would carry them as JSON for every job
ever run, while everything needed to rebuild them exactly is already stored and small:
the run's weights document (normaliser, parameters, threshold, fees, ruin floor, the test
block's dates) and its data, which is the demo (regenerated from the run's seed, days and
spacing) or a registered dataset (its stored canonical frame, found by the file's sha256).
The rebuilt frame must have the run's data fingerprint, and the rebuilt books the stored
backtest's bars and total returns, or the view is refused (409) rather than shown for
other data. A model trained on an unregistered local file has no view until that file is
registered (``ssots data add``): the server reads no path a run names.

The last ``CACHED_BLOCKS`` rebuilt blocks are kept in this process (keyed by the home, the
run and the data record they came from, so a removed dataset is noticed at once), so
paging and sorting a long trade list does not score its data again for every page.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ssots.artifacts import saved_model
from ssots.backtest import BacktestResult, backtest
from ssots.config import Settings
from ssots.errors import ConflictError
from ssots.services.datasets import frame_sha256, load_record, resolve
from ssots.spec import BOOKS, DEFAULT_SEED, DEMO, DEMO_DAYS, DEMO_FREQ, JobStatus
from ssots.trades import (
    DEFAULT_SERIES_POINTS,
    MAX_MARKED_TRADES,
    TRADE_COLUMNS,
    TradeList,
    chart_series,
    trade_list,
)

if TYPE_CHECKING:
    from ssots.store.datasets import DatasetRecord, DatasetRegistry
    from ssots.store.jobs import Job
    from ssots.store.registry import VersionRecord

CACHED_BLOCKS = 4
"""Rebuilt test blocks kept in memory (a minute file's block is tens of megabytes)."""
_CACHE: OrderedDict[tuple[Any, ...], BacktestResult] = OrderedDict()
_CACHE_LOCK = threading.Lock()

__all__ = [
    "job_test_block",
    "rebuilt_test_block",
    "trader_view",
    "trades_answer",
    "trades_page",
    "version_test_block",
]


def job_test_block(
    job: Job, settings: Settings, datasets: DatasetRegistry | None = None
) -> BacktestResult:
    """The test block of a succeeded job, backtested again from its stored result
    (``datasets``: the registry to find its data in, default ``settings``').

    Raises:
        ConflictError: the job has not succeeded, or its data is not available (as
            ``rebuilt_test_block``).
    """
    if job.status != JobStatus.SUCCEEDED or not job.result:
        raise ConflictError(
            f"job {job.id} is {job.status}: its trades exist once it has succeeded"
        )
    return rebuilt_test_block(
        job.result, job.spec, settings, what=f"job {job.id}", datasets=datasets
    )


def version_test_block(
    version: VersionRecord, settings: Settings, datasets: DatasetRegistry | None = None
) -> BacktestResult:
    """The test block of a registered model version, backtested again from its weights
    and the run settings in its lineage.

    Raises:
        ConflictError: its data is not available (as ``rebuilt_test_block``).
    """
    spec = version.lineage.get("spec") or {}
    what = f"models:/{version.model}/{version.version}"
    return rebuilt_test_block(version.weights, spec, settings, what=what, datasets=datasets)


def rebuilt_test_block(
    document: dict[str, Any],
    spec: dict[str, Any],
    settings: Settings,
    *,
    what: str,
    datasets: DatasetRegistry | None = None,
) -> BacktestResult:
    """The three books of a run's test block, from its weights ``document`` (the job's
    result or a version's weights) and its run ``spec`` (for the demo's seed, days and
    spacing), with the threshold, fees and ruin floor it was backtested with; a registered
    dataset is looked up in ``datasets`` (default: the registry of ``settings``).

    Raises:
        ConflictError: the data is neither the demo nor a registered dataset, it differs
            from the run's (fingerprint), the document records no test block, or the
            books do not come out as stored.
    """
    saved = saved_model(document, origin=what)
    record = _record(document, datasets, settings, what)
    key = (str(settings.home), what, document.get("created_at"), record and record.id)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    frame = _frame(document, spec, record, settings, what)
    dates = saved.split_dates()
    stored = document.get("backtest") or {}
    if dates is None or "threshold" not in stored:
        raise ConflictError(f"{what} records no test block (written by an older version)")
    scores = saved.score(frame)
    start, end = dates["test"]
    scores = scores[(scores.index >= start) & (scores.index <= end)]
    result = backtest(
        scores.index,
        scores["close"].to_numpy(),
        scores["direction"].to_numpy(),
        scores["q_raw"].to_numpy(),
        stored["threshold"],
        fee_bp=stored.get("fee_bp", 0.0),
        slippage_bp=stored.get("slippage_bp", 0.0),
        ruin_floor=stored.get("ruin_floor", 0.0),
    )
    _check_same_books(result, stored, what)
    with _CACHE_LOCK:
        _CACHE[key] = result
        while len(_CACHE) > CACHED_BLOCKS:
            _CACHE.popitem(last=False)
    return result


def _record(
    document: dict[str, Any], datasets: DatasetRegistry | None, settings: Settings, what: str
) -> DatasetRecord | None:
    """The registered dataset a run trained on (None for the demo).

    Raises:
        ConflictError: it is not registered here.
    """
    data = document.get("data") or {}
    if data.get("kind") == DEMO:
        return None
    if datasets is None:
        from ssots.store.datasets import DatasetRegistry

        datasets = DatasetRegistry(settings)
    sha256 = data.get("sha256")
    record = next((r for r in datasets.list() if r.sha256 == sha256), None)
    if record is None:
        raise ConflictError(
            f"the data of {what} ({data.get('name', 'unknown')}) is not registered here, "
            "so its test block cannot be shown; register the file (`ssots data add`) or "
            "fetch the Kaggle dataset again"
        )
    return record


def _frame(
    document: dict[str, Any],
    spec: dict[str, Any],
    record: DatasetRecord | None,
    settings: Settings,
    what: str,
) -> pd.DataFrame:
    """The run's data: the demo regenerated from ``spec``, or ``record``'s canonical frame.

    Raises:
        ConflictError: its fingerprint is not the run's.
    """
    if record is None:
        frame = resolve(
            DEMO,
            settings,
            seed=spec.get("seed", DEFAULT_SEED),
            demo_days=spec.get("demo_days", DEMO_DAYS),
            demo_freq=spec.get("demo_freq", DEMO_FREQ),
        ).frame
    else:
        frame = load_record(record).frame
    fingerprint = (document.get("data") or {}).get("fingerprint")
    if fingerprint is not None and frame_sha256(frame) != fingerprint:
        raise ConflictError(
            f"the data found for {what} is not the data it was trained on (fingerprint "
            f"{frame_sha256(frame)[:12]}, trained on {fingerprint[:12]})"
        )
    return frame


def _check_same_books(result: BacktestResult, stored: dict[str, Any], what: str) -> None:
    """Refuse a rebuilt test block whose bars or books differ from the stored backtest."""
    same = stored.get("bars") == len(result.times) and all(
        math.isclose(
            result.metrics[book]["total_return"] or 0.0,
            stored["metrics"][book]["total_return"] or 0.0,
            rel_tol=1e-9,
            abs_tol=1e-12,
        )
        for book in BOOKS
        if book in stored.get("metrics", {})
    )
    if not same:
        raise ConflictError(
            f"the test block of {what} does not come out as stored (its bars or books "
            "differ: trained by another version of ssots?); train it again to see its trades"
        )


def trades_page(
    trades: TradeList,
    *,
    sort: str | None = None,
    descending: bool = False,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[TradeList, list[int]]:
    """The trades sorted by ``sort`` (a column; default time order) and cut to ``limit``
    rows from ``offset``, with their row numbers in time order.

    Raises:
        ParameterError: ``sort`` is not a column.
    """
    rows = np.arange(len(trades)) if sort is None else trades.order(sort, descending)
    if sort is None and descending:
        rows = rows[::-1]
    rows = rows[offset : None if limit is None else offset + limit]
    return trades.subset(rows), rows.tolist()


def trades_answer(
    trades: TradeList,
    *,
    sort: str | None = None,
    descending: bool = False,
    offset: int = 0,
    limit: int | None = None,
) -> dict[str, Any]:
    """The JSON answer of a trades endpoint: ``columns``, ``counts`` (of the whole list),
    ``total``, the page asked for (``trades_page``) as ``trades`` with their time-order
    numbers as ``rows``."""
    page, rows = trades_page(trades, sort=sort, descending=descending, offset=offset, limit=limit)
    return {
        "columns": list(TRADE_COLUMNS),
        "counts": trades.counts(),
        "total": len(trades),
        "offset": offset,
        "rows": rows,
        "trades": page.records(),
    }


def trader_view(
    result: BacktestResult, strategy: str, max_points: int = DEFAULT_SERIES_POINTS
) -> dict[str, Any]:
    """Everything the dashboard's charts draw for one test block: its settings, the
    chart series (``trades.chart_series``), the counts of the trade list and the first
    ``MAX_MARKED_TRADES`` trades to mark on the price (``marked`` of ``total``; the table
    pages through ``GET .../trades``)."""
    trades = trade_list(result)
    answer = trades_answer(trades, limit=MAX_MARKED_TRADES)
    return {
        "strategy": strategy,
        "threshold": result.threshold,
        "fee_bp": result.fee_bp,
        "slippage_bp": result.slippage_bp,
        "ruin_floor": result.ruin_floor,
        "bars": len(result.times),
        "start": result.times[0].isoformat(),
        "end": result.times[-1].isoformat(),
        **chart_series(result, max_points),
        **answer,
        "marked": len(answer["trades"]),
    }
