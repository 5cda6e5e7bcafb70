"""The trader's views in a real browser (Chromium under Playwright) against a real
``ssots serve``: on a job page and a model page, the price chart with the strategy's
entries and exits and the Q-filter's taken and skipped calls over the Q-score, the
drawdown chart per book, the trade list sorted by any column, and its CSV export, which
must be the API's CSV byte for byte. Every test fails on a console error or a failed
request (``test_dashboard.Tab``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser_support import ARTIFACTS, contrast_failures
from test_dashboard import WAIT_MS, Tab, browser, open_tab, tab  # noqa: F401  (fixtures)
from web_support import Server, submit, wait_finished

JOB = {"demoDays": 1500, "epochs": 8, "strategy": "rsi-enhanced"}
"""A demo job whose test block (about 290 daily bars) has more trades than one page."""
MODEL = "trader-views"
SCRIPT = Path(__file__).resolve().parents[1] / "src/ssots/web/static/js/traderviews.js"
PAGE_ROWS = int(re.search(r"PAGE_ROWS = (\d+);", SCRIPT.read_text())[1])
"""Rows per page of the trade list, as the page's script says."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with Server(tmp_path_factory.mktemp("home"), workers=1) as running:
        yield running


@pytest.fixture(scope="module")
def job_id(server: Server) -> str:
    job = submit(server.client, **JOB)
    assert wait_finished(server.client, job)["status"] == "success"
    return job


def traces(on: Tab, chart: str) -> list[dict[str, Any]]:
    """Name, axes, point count and drawn marker count of each trace of ``chart``."""
    return on.page.eval_on_selector(
        f"[data-el={chart}]",
        """el => el._fullData.map((t, i) => ({
            name: t.name, x: t.xaxis, y: t.yaxis, points: (t.x || []).length,
            drawn: el.querySelectorAll(`.scatterlayer .trace:nth-child(${i + 1}) .point`).length,
        }))""",
    )


def show_views(on: Tab, path: str) -> None:
    on.open(path)
    on.page.wait_for_selector("[data-el=trader-views]:not([hidden])", timeout=WAIT_MS)
    shown(on, "time:false:0")


def assert_price_and_drawdown_charts(on: Tab, view: dict[str, Any]) -> None:
    counts = view["counts"]
    assert view["marked"] == view["total"], "the fixture should mark every trade"
    price = {trace["name"]: trace for trace in traces(on, "price-chart")}
    assert price["close"]["points"] == len(view["price"]["times"])
    assert price["strategy entries"]["points"] == counts["calls"]
    assert price["strategy exits"]["points"] == counts["calls"]
    assert price["Q-filter took"]["points"] == counts["taken"] > 0
    assert price["Q-filter skipped"]["points"] == counts["skipped"] > 0
    for name in ("strategy entries", "strategy exits", "Q-filter took", "Q-filter skipped"):
        assert price[name]["drawn"] == price[name]["points"], f"{name}: markers not drawn"
    q = price["raw Q-score"]
    assert q["points"] == price["close"]["points"]
    assert (q["x"], q["y"]) == ("x", "y2"), "the Q-score is not beneath the price"
    assert (price["close"]["x"], price["close"]["y"]) == ("x", "y")
    assert any(name.startswith("threshold") for name in price)
    drawdown = traces(on, "drawdown-chart")
    assert [(t["name"], t["y"]) for t in drawdown] == [
        ("Strategy", "y"), ("Q-filtered", "y2"), ("Buy and hold", "y3")
    ]
    assert {t["x"] for t in drawdown} == {"x"}
    assert all(t["points"] == len(view["drawdown"]["times"]) for t in drawdown)


def cells(on: Tab, column: str) -> list[str]:
    return on.page.locator(f"[data-el=trades-table] tbody td[data-col={column}]").all_inner_texts()


def shown(on: Tab, state: str) -> None:
    """Wait until the trade table shows ``sort:descending:page``."""
    on.page.wait_for_selector(f"[data-el=trades-table][data-shown='{state}']")


def shown_rows(on: Tab) -> list[int]:
    """The time-order numbers of the trades the table shows."""
    return [int(i) for i in on.page.locator("[data-el=trades-table] tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.trade)")]


def assert_trade_table(on: Tab, view: dict[str, Any], trades: list[dict[str, Any]]) -> None:
    """The list pages and sorts the whole of ``trades`` (the API's list, in time order)."""
    page = on.page
    assert len(trades) > PAGE_ROWS, "the fixture should need more than one page"
    shown(on, "time:false:0")
    assert page.locator("[data-el=trades-table] thead button[data-sort]").count() == 10
    assert shown_rows(on) == list(range(PAGE_ROWS))
    assert cells(on, "entry_time")[0] == trades[0]["entry_time"][:16].replace("T", " ")
    page.click("[data-el=trades-next]")
    shown(on, "time:false:1")
    assert shown_rows(on)[0] == PAGE_ROWS
    assert f"{PAGE_ROWS + 1}–" in page.inner_text("[data-el=trades-range]")
    header = page.locator("[data-el=trades-table] th:has(button[data-sort=return])")
    page.click("button[data-sort=return]")
    shown(on, "return:false:0")
    assert header.get_attribute("aria-sort") == "ascending"
    lowest = sorted(range(len(trades)), key=lambda i: trades[i]["return"])[:PAGE_ROWS]
    assert shown_rows(on) == lowest
    page.click("button[data-sort=return]")
    shown(on, "return:true:0")
    assert header.get_attribute("aria-sort") == "descending"
    top = max(t["return"] for t in trades)
    assert cells(on, "return")[0] == f"{top * 100:.2f}%"
    page.click("button[data-sort=filter]")
    shown(on, "filter:false:0")
    filters = cells(on, "filter")
    assert filters == sorted(t["filter"] for t in trades)[:PAGE_ROWS]
    page.click("button[data-sort=bars]")
    shown(on, "bars:false:0")
    assert [int(v) for v in cells(on, "bars")] == sorted(t["bars"] for t in trades)[:PAGE_ROWS]
    assert view["total"] == len(trades)


def assert_csv_download_is_the_api(on: Tab, api_path: str, file_name: str) -> None:
    with on.page.expect_download() as info:
        on.page.click("[data-el=trades-csv]")
    download = info.value
    assert download.suggested_filename == file_name
    saved = Path(download.path())
    api = on.server.client.get(api_path, params={"format": "csv"})
    assert api.status_code == 200
    assert saved.read_bytes() == api.content


def test_the_job_page_shows_the_trades_of_its_test_block(tab: Tab, job_id: str) -> None:  # noqa: F811
    show_views(tab, f"/jobs/{job_id}")
    view = tab.server.client.get(f"/api/jobs/{job_id}/test-block").json()
    summary = tab.page.inner_text("[data-el=trader-summary]")
    assert f"{view['counts']['calls']} calls" in summary
    assert f"{view['counts']['taken']} taken by the Q-filter" in summary
    assert_price_and_drawdown_charts(tab, view)
    assert contrast_failures(tab.page) == []
    tab.shot("job-trades")
    views = tab.page.locator("[data-el=trader-views]")
    views.screenshot(path=str(ARTIFACTS / "job-trades-views.png"))  # for docs/img
    listed = tab.server.client.get(f"/api/jobs/{job_id}/trades").json()["trades"]
    assert_trade_table(tab, view, listed)
    assert_csv_download_is_the_api(tab, f"/api/jobs/{job_id}/trades", f"ssots-trades-{job_id}.csv")


def test_the_model_page_shows_a_versions_test_block(tab: Tab, job_id: str) -> None:  # noqa: F811
    client = tab.server.client
    runs = client.get("/api/runs", params={"source": "job"}).json()["runs"]
    run_id = next(run["id"] for run in runs if run["job_id"] == job_id)
    created = client.post("/api/models", json={"name": MODEL, "run_id": run_id})
    assert created.status_code == 201, created.text
    show_views(tab, f"/models/{MODEL}")
    assert tab.page.input_value("[data-el=views-version]") == "1"
    view = client.get(f"/api/models/{MODEL}/versions/1/test-block").json()
    assert view["trades"] == client.get(f"/api/jobs/{job_id}/test-block").json()["trades"]
    assert_price_and_drawdown_charts(tab, view)
    tab.shot("model-trades")
    assert_csv_download_is_the_api(
        tab, f"/api/models/{MODEL}/versions/1/trades", f"ssots-trades-{MODEL}-v1.csv"
    )


def test_a_version_whose_data_is_gone_says_so(tab: Tab, real_data_dir: Path) -> None:  # noqa: F811
    client = tab.server.client
    name = "binance_klines_BTCUSDT_1h_2022-01.csv"
    content = (real_data_dir / name).read_bytes()
    uploaded = client.post("/api/datasets", files={"file": (name, content)})
    assert uploaded.status_code == 201, uploaded.text
    dataset_id = uploaded.json()["id"]
    job = submit(client, dataset=dataset_id, datasetSource="registered", epochs=5)
    assert wait_finished(client, job)["status"] == "success"
    runs = client.get("/api/runs", params={"source": "job"}).json()["runs"]
    run_id = next(run["id"] for run in runs if run["job_id"] == job)
    assert client.post("/api/models", json={"name": "gone", "run_id": run_id}).status_code == 201
    assert client.delete(f"/api/datasets/{dataset_id}").status_code == 204
    tab.problems.expect(409, r"/api/models/gone/versions/1/test-block$")
    tab.open("/models/gone")
    status = tab.page.locator("[data-el=trader-status]")
    status.wait_for()
    assert "No trades to show" in status.inner_text()
    assert "not registered here" in status.inner_text()
    assert tab.page.locator("[data-el=trader-views]").is_hidden()
    assert tab.problems.expected_seen
