"""The trader's views over the API: the trade list of a job's or a model version's test
block (JSON, or CSV with ``?format=csv`` or ``Accept: text/csv``) and everything the
dashboard charts beside it. Both are rebuilt on demand from the stored run
(``ssots.services.trades`` says why and how)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from ssots.services.trades import (
    job_test_block,
    trader_view,
    trades_answer,
    trades_page,
    version_test_block,
)
from ssots.trades import DEFAULT_SERIES_POINTS, MAX_SERIES_POINTS, TRADE_COLUMNS, trade_list
from ssots.web.api.jobs import JobId
from ssots.web.deps import ServicesDep
from ssots.web.errors import error_responses
from ssots.web.schemas import MODEL_NAME_PATTERN

router = APIRouter(tags=["trades"])

ModelName = Annotated[str, Path(pattern=MODEL_NAME_PATTERN, description="the model's name")]
Version = Annotated[int, Path(ge=1, le=2**31 - 1)]
Format = Annotated[
    Literal["json", "csv"] | None,
    Query(description="csv: the trade list as CSV (as `Accept: text/csv`)"),
]
Accept = Annotated[str | None, Header(include_in_schema=False)]
Sort = Annotated[
    Literal[*TRADE_COLUMNS] | None,  # type: ignore[valid-type]
    Query(description="sort by this column (default: time order)"),
]
Descending = Annotated[bool, Query(description="largest first (latest first unsorted)")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="skip this many trades")]
Limit = Annotated[
    int | None, Query(ge=1, le=100_000, description="at most this many trades (default all)")
]
MaxPoints = Annotated[
    int,
    Query(ge=4, le=MAX_SERIES_POINTS, description="most points per chart series"),
]
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


class TradeRow(BaseModel):
    """One trade: a stretch of one strategy call over which the Q-filter's decision holds."""

    model_config = ConfigDict(populate_by_name=True)

    call: int = Field(description="the strategy's call it belongs to, numbered from 1")
    side: Literal["long", "short"]
    entry_time: str = Field(description="ISO 8601; entered at this bar's close")
    entry_price: float
    exit_time: str = Field(description="ISO 8601; left at this bar's close")
    exit_price: float
    bars: int = Field(description="bars held: exit bar minus entry bar")
    return_: float = Field(alias="return", description="net return with fees, at least -1")
    q_entry: float = Field(description="the raw Q-score at the entry bar")
    filter: Literal["taken", "skipped", "ruined"] = Field(
        description="taken or skipped by the Q-filter, or not taken because its book was ruined"
    )


class TradeCounts(BaseModel):
    """How many calls and trades of each kind."""

    calls: int
    taken: int
    skipped: int
    ruined: int


class TradeList(BaseModel):
    """The trade list of a test block, or the page of it asked for."""

    columns: list[str]
    counts: TradeCounts = Field(description="of the whole list")
    total: int = Field(description="trades in the whole list")
    offset: int
    rows: list[int] = Field(description="each trade's number in time order, from 0")
    trades: list[TradeRow]


class PriceSeries(BaseModel):
    """Close and raw Q-score of the test block's bars (at most about ``max_points``)."""

    times: list[str]
    close: list[float]
    q: list[float]


class DrawdownSeries(BaseModel):
    """Each book's drawdown (equity over its running peak, minus 1)."""

    times: list[str]
    strategy: list[float]
    q_filtered: list[float]
    buy_and_hold: list[float]


class TestBlockView(TradeList):
    """A test block for the trader's charts: its settings, series and trade list."""

    __test__ = False  # not a pytest test class

    strategy: str
    threshold: float
    fee_bp: float
    slippage_bp: float
    ruin_floor: float
    bars: int
    start: str
    end: str
    total_points: int
    price: PriceSeries
    drawdown: DrawdownSeries
    marked: int = Field(description="trades sent to mark on the chart: the first ones in time")


def _wants_csv(format: str | None, accept: str | None) -> bool:
    if format is not None:
        return format == "csv"
    return accept is not None and "text/csv" in accept.lower()


@dataclass(frozen=True)
class TradesQuery:
    """What a trade-list request asks for: its format (``?format`` or ``Accept``), its
    order and its page."""

    format: str | None
    accept: str | None
    page: dict[str, Any]


def _trades_query(
    format: Format = None,
    sort: Sort = None,
    descending: Descending = False,
    offset: Offset = 0,
    limit: Limit = None,
    accept: Accept = None,
) -> TradesQuery:
    """The query parameters of both trade-list routes, declared once."""
    page = {"sort": sort, "descending": descending, "offset": offset, "limit": limit}
    return TradesQuery(format=format, accept=accept, page=page)


TradesQueryDep = Annotated[TradesQuery, Depends(_trades_query)]


def _trades_response(result: Any, name: str, query: TradesQuery) -> Any:
    trades = trade_list(result)
    if _wants_csv(query.format, query.accept):
        return Response(
            trades_page(trades, **query.page)[0].to_csv(),
            media_type=CSV_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return trades_answer(trades, **query.page)


TRADES_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the trade list: JSON, or CSV (the same columns) when asked for",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    },
    **error_responses(401, 404, 409, 422),
}


@router.get(
    "/jobs/{job_id}/trades",
    response_model=TradeList,
    responses=TRADES_RESPONSES,
    summary="The trade list of a succeeded job's test block (JSON or CSV)",
)
def job_trades(services: ServicesDep, job_id: JobId, query: TradesQueryDep) -> Any:
    """Every call of the strategy in the job's test block, split where the Q-filter's
    decision changes: entry and exit time and price, side, return, bars held, and whether
    the Q-filter took it; in time order, or sorted by ``sort``, and cut to ``limit`` from
    ``offset`` (in JSON and CSV alike). 404 for an unknown job, 409 until the job has
    succeeded (or when its data is no longer available here)."""
    result = job_test_block(services.jobs.get(job_id), services.settings, services.datasets)
    return _trades_response(result, f"ssots-trades-{job_id}", query)


@router.get(
    "/jobs/{job_id}/test-block",
    response_model=TestBlockView,
    responses=error_responses(401, 404, 409, 422),
    summary="A succeeded job's test block for charts: prices, Q-score, drawdowns, trades",
)
def job_test_block_view(
    services: ServicesDep, job_id: JobId, max_points: MaxPoints = DEFAULT_SERIES_POINTS
) -> dict[str, Any]:
    """The test block's close and raw Q-score, each book's drawdown (at most about
    ``max_points`` points per series, keeping every extreme) and the trade list."""
    job = services.jobs.get(job_id)
    result = job_test_block(job, services.settings, services.datasets)
    return trader_view(result, job.result["strategy"], max_points)


@router.get(
    "/models/{name}/versions/{version}/trades",
    response_model=TradeList,
    responses=TRADES_RESPONSES,
    summary="The trade list of a model version's test block (JSON or CSV)",
)
def version_trades(
    services: ServicesDep, name: ModelName, version: Version, query: TradesQueryDep
) -> Any:
    """As ``GET /api/jobs/{id}/trades``, for the run a version was registered from."""
    result = version_test_block(
        services.models.version(name, version), services.settings, services.datasets
    )
    return _trades_response(result, f"ssots-trades-{name}-v{version}", query)


@router.get(
    "/models/{name}/versions/{version}/test-block",
    response_model=TestBlockView,
    responses=error_responses(401, 404, 409, 422),
    summary="A model version's test block for charts: prices, Q-score, drawdowns, trades",
)
def version_test_block_view(
    services: ServicesDep,
    name: ModelName,
    version: Version,
    max_points: MaxPoints = DEFAULT_SERIES_POINTS,
) -> dict[str, Any]:
    """As ``GET /api/jobs/{id}/test-block``, for the run a version was registered from."""
    found = services.models.version(name, version)
    result = version_test_block(found, services.settings, services.datasets)
    return trader_view(result, found.weights["strategy"], max_points)
