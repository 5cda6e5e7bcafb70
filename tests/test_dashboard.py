"""The dashboard: its pages served by the app, and the whole flow in a real browser
(Playwright driving Debian's Chromium) against a real ``ssots serve`` subprocess.

Every browser test fails on a console error, an uncaught exception, a failed request or
an answer >= 400 it did not provoke on purpose. Screenshots land in test-artifacts/.
Without Chromium or Playwright the browser tests skip, unless SSOTS_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from browser_support import (
    PageProblems,
    contrast_failures,
    launch_chromium,
    require_browser,
    screenshot,
)
from ssots.artifacts import weights_document
from ssots.evidence import headline
from ssots.services.training import train_run
from ssots.spec import RunSpec
from ssots.web import create_app
from ssots.web.pages import form_fields, plotly_js
from web_support import Server, TestClient, make_settings, submit, wait_finished

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Request

ROOT = Path(__file__).resolve().parents[1]
PAGES = {
    "/": "Dashboard",
    "/datasets": "Datasets",
    "/training": "Model Training",
    "/jobs": "Jobs",
    "/models": "Models",
}
WAIT_MS = 90_000
"""Longest wait for a job in the browser (CI machines are slow and loaded)."""
ACTION_MS = 20_000
"""Longest wait for anything else in the browser."""
STREAMED_JOB = {"demoDays": "3650", "batchSize": "8", "patience": "100"}
"""Advanced form values with which 50 epochs take a second or two: losses arrive in batches."""
SLOW_JOB = {"epochs": "500", "patience": "100000", "demoDays": "36500", "batchSize": "8"}
"""Form values of a job that trains for minutes (a few epochs a second) until cancelled."""
LONG_RUN = {"demoDays": 3650, "epochs": 3000, "patience": 100_000, "batchSize": 256}
"""A job with more epochs than the live chart keeps (trains for about ten seconds)."""
UPLOAD_FILE = "coincodex_BTC_daily_newest_first.csv"
"""A real daily BTC file, newest first: the loader reverses it and says so."""
DROP_FILE = "binance_klines_BTCUSDT_1h_2022-01.csv"
"""A real hourly file, dropped on the upload zone."""

# -- pages served by the app (no browser) ---------------------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app in-process, serving pages only (no workers)."""
    app = create_app(make_settings(tmp_path_factory.mktemp("pages")), workers=0)
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize(("path", "title"), PAGES.items())
def test_pages_have_the_sidebar_with_the_current_page_marked(
    client: TestClient, path: str, title: str
) -> None:
    html = client.get(path).text
    current = re.findall(r'<a href="([^"]+)" aria-current="page">', html)
    assert current == [path]
    assert f"<title>{title} · SSO-TS</title>" in html
    training_link = re.search(r'<a href="/training"[^>]*>(.*?)</a>', html, re.S)
    assert training_link is not None
    assert "icon-brain" in training_link[1]
    assert "Model Training" in training_link[1]


def test_job_page_and_bad_job_ids(client: TestClient) -> None:
    page = client.get("/jobs/0123456789abcdef")
    assert page.status_code == 200
    assert 'data-job-id="0123456789abcdef"' in page.text
    missing = client.get("/jobs/not-a-job")
    assert missing.status_code == 404
    assert "There is no job" in missing.text


def test_plotly_is_served_from_the_plotly_package(client: TestClient) -> None:
    script = re.search(r'<script src="([^"]+plotly[^"]*)"', client.get("/training").text)
    assert script is not None
    response = client.get(script[1])
    assert response.status_code == 200
    assert response.content == plotly_js().read_bytes()
    assert "immutable" in response.headers["cache-control"]
    assert "cdn" not in script[1]


def test_the_form_offers_only_values_the_api_accepts(client: TestClient) -> None:
    numeric = [
        field
        for fields in form_fields().values()
        for field in fields
        if field["type"] in ("integer", "number")
    ]
    assert {field["api"] for field in numeric} >= {"epochs", "learningRate", "feeBp"}
    for field in numeric:
        for value in (field["minimum"], field["maximum"]):
            if value is not None:
                typed = int(value) if field["step"] == "1" else float(value)
                response = client.post("/api/train", json={field["api"]: typed})
                assert response.status_code == 202, (field["api"], value, response.text)


def test_templates_and_static_files_ship_in_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["ssots"]
    package = ROOT / "src" / "ssots"
    shipped = [
        path.relative_to(package).as_posix()
        for folder in ("web/templates", "web/static")
        for path in (package / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    assert shipped
    missing = [name for name in shipped if not any(fnmatch.fnmatch(name, p) for p in patterns)]
    assert not missing, f"not in [tool.setuptools.package-data]: {missing}"


# -- the real server -------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``ssots serve`` with two workers in a temporary SSOTS_HOME, for the whole module."""
    with Server(tmp_path_factory.mktemp("home"), workers=2) as running:
        yield running


def test_history_tells_where_to_resume_the_event_stream(server: Server) -> None:
    job_id = submit(server.client, demoDays=200, epochs=20)
    wait_finished(server.client, job_id)
    history = server.client.get(f"/api/jobs/{job_id}/history", params={"max_points": 5}).json()
    assert history["total_points"] == 20
    assert history["last_event_id"] >= 20
    headers = {"Last-Event-ID": str(history["last_event_id"] - 3)}
    events = server.client.get(f"/api/jobs/{job_id}/events", headers=headers).text
    ids = [int(number) for number in re.findall(r"^id: (\d+)$", events, re.M)]
    assert ids == list(range(history["last_event_id"] - 2, history["last_event_id"] + 1))


# -- in the browser --------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (the test skips or fails when it is missing)."""
    require_browser()
    with launch_chromium() as chromium:
        yield chromium


class Tab:
    """A browser page on the server with a watch on its problems."""

    def __init__(self, browser: Browser, server: Server, width: int = 1280) -> None:
        self.server = server
        self.context = browser.new_context(
            base_url=server.url, viewport={"width": width, "height": 900}
        )
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(ACTION_MS)
        self.problems = PageProblems()
        self.problems.watch(self.page)

    def open(self, path: str) -> Page:
        """Go to ``path`` and wait until its scripts' requests are done."""
        with self.problems.leaving_page():
            self.page.goto(path)
        self.page.wait_for_load_state("networkidle")
        return self.page

    def chart_points(self, chart: str) -> list[int]:
        """The number of points of each trace of the chart marked data-el=``chart``."""
        return self.page.eval_on_selector(
            f"[data-el={chart}]", "el => (el.data || []).map(t => (t.x || []).length)"
        )

    def shot(self, name: str) -> None:
        """A full-page screenshot from the top, as test-artifacts/<name>.png."""
        self.page.evaluate("window.scrollTo(0, 0)")
        screenshot(self.page, name)


@pytest.fixture
def open_tab(browser: Browser, server: Server) -> Iterator[Callable[..., Tab]]:
    """Open browser tabs (on ``server`` unless told otherwise); the test fails if anything
    went wrong in any of them."""
    opened: list[Tab] = []

    def open_one(width: int = 1280, on: Server = server) -> Tab:
        opened.append(Tab(browser, on, width))
        return opened[-1]

    yield open_one
    for tab in opened:
        with tab.problems.leaving_page():  # (closing aborts a request still in flight)
            tab.context.close()
    for tab in opened:
        tab.problems.check()


@pytest.fixture
def tab(open_tab: Callable[..., Tab]) -> Tab:
    """A fresh 1280 px wide browser tab on the module's server."""
    return open_tab()


def fill_form(page: Page, **fields: str) -> None:
    """Set the training form's fields (by request name), opening Advanced as needed."""
    for name, value in fields.items():
        element = page.locator(f"#f-{name}")
        if not element.is_visible():
            page.click("details.advanced summary")
        if element.evaluate("e => e.tagName") == "SELECT":
            element.select_option(value)
        else:
            element.fill(value)


def count_calls(page: Page, function: str) -> None:
    """Count the page's calls of ``Plotly.<function>`` in ``window.calls``."""
    page.evaluate(
        """name => { window.calls = window.calls || {}; window.calls[name] = 0;
        const original = Plotly[name];
        Plotly[name] = (...args) => { window.calls[name] += 1; return original(...args); }; }""",
        function,
    )


def metric_values(page: Page) -> dict[str, float]:
    """The metric cards' numbers by metric."""
    cards = page.locator("[data-metric]")
    return {
        cards.nth(i).get_attribute("data-metric") or "": float(
            cards.nth(i).locator(".metric-value").inner_text().split()[0]
        )
        for i in range(cards.count())
    }


def assert_results(tab: Tab, job_id: str) -> dict[str, float]:
    """The job view shows a succeeded job completely; returns its metric cards."""
    page = tab.page
    page.wait_for_selector("[data-el=results]:not([hidden])", timeout=WAIT_MS)
    assert page.inner_text("[data-el=status]") == "succeeded"
    assert page.get_attribute("[data-el=progress]", "aria-valuenow") == "100"
    assert page.inner_text("[data-el=percent]") == "100%"
    job = tab.server.client.get(f"/api/jobs/{job_id}").json()
    assert tab.chart_points("loss-chart") == [job["epoch"], job["epoch"]]
    metrics = metric_values(page)
    assert set(metrics) == {"mse", "mae", "rmse", "r2", "ic", "rank_ic"}
    for key in ("mse", "r2", "ic", "rank_ic"):
        assert metrics[key] == pytest.approx(job["result"]["metrics"][key], rel=1e-3, abs=1e-5)
    assert page.locator("[data-metric] .metric-baseline").count() == 6
    assert "worse than the best baseline" in page.inner_text("[data-el=metrics-note]")
    raw_rank_ic = page.inner_text("[data-metric=rank_ic] .metric-raw")
    assert float(raw_rank_ic.split()[-1]) == pytest.approx(
        job["result"]["metrics"]["raw_rank_ic"], rel=1e-3, abs=1e-5
    )
    assert page.locator("[data-el=weights-chart] .trace.bars .point").count() == 13
    curve = job["result"]["backtest"]["equity"]["times"]
    assert tab.chart_points("equity-chart") == [len(curve)] * 3
    rows = page.locator("[data-el=backtest-table] tbody tr")
    assert rows.count() == 9
    assert rows.last.locator("th").inner_text() == "Ruined"
    ruined = job["result"]["backtest"]["ruined"]
    assert page.locator("[data-el=backtest-table] [data-ruined]").count() == sum(
        ruin is not None for ruin in ruined.values()
    )
    assert page.get_attribute("[data-el=download]", "href") == f"/api/jobs/{job_id}/weights"
    verdict = page.locator("[data-el=evidence] [data-el=verdict]")
    assert verdict.inner_text() == job["verdict"]
    assert "evidence of skill: rank IC" in verdict.inner_text()
    skill = job["result"]["evidence"]["skill"]
    assert verdict.get_attribute("data-skill") == str(skill).lower()
    evidence_rows = page.locator("[data-el=evidence-table] tbody tr")
    assert evidence_rows.count() == 7
    assert "[" in evidence_rows.first.locator("td").nth(1).inner_text()  # an interval
    assert page.locator("[data-el=evidence-pooled]").is_hidden()
    return metrics


def test_train_on_demo_data_live_then_the_job_page(tab: Tab) -> None:
    page = tab.open("/training")
    count_calls(page, "extendTraces")
    count_calls(page, "newPlot")
    page.evaluate("window.sameDocument = true")
    fill_form(page, dataset="demo", epochs="50", **STREAMED_JOB)
    page.click("text=Start Training")
    page.wait_for_url(re.compile(r"/training\?job=[0-9a-f]{16}$"))
    job_id = page.url.rsplit("=", 1)[1]
    assert page.is_disabled("[data-el=start]")
    page.wait_for_selector("[data-el=status][data-status=succeeded]", timeout=WAIT_MS)
    assert page.evaluate("window.sameDocument"), "the page was reloaded"
    calls = page.evaluate("window.calls")
    assert calls["extendTraces"] >= 2, "loss points were not streamed in as they came"
    assert calls["newPlot"] == 1, "the loss chart was redrawn"
    metrics = assert_results(tab, job_id)
    assert page.is_enabled("[data-el=start]")
    assert page.inner_text("[data-el=epoch]") == "epoch 50 / 50"
    row = page.locator(f"[data-jobs] tr[data-job-id='{job_id}']")
    row.wait_for()
    assert page.locator("[data-jobs] tr").first.get_attribute("data-job-id") == job_id
    tab.shot("training")

    row.locator("a").click()
    page.wait_for_url(f"**/jobs/{job_id}")
    assert assert_results(tab, job_id) == metrics
    page.wait_for_selector("[data-el=settings] dd")
    assert page.locator("[data-el=settings] dd").first.inner_text() == "bitcoin-demo"
    assert contrast_failures(page) == []
    tab.shot("job")
    weights = tab.server.client.get(f"/api/jobs/{job_id}/weights").json()
    assert len(weights["parameters"]) == 13


def test_upload_preview_and_train_on_it(tab: Tab, real_data_dir: Path) -> None:
    page = tab.open("/datasets")
    page.set_input_files("#upload-file", str(real_data_dir / UPLOAD_FILE))
    page.wait_for_selector("[data-el=report]:not([hidden])")
    assert "reversed newest-first order" in page.inner_text("[data-el=report]")
    assert page.get_attribute("[data-el=upload-progress]", "aria-valuenow") == "100"
    page.wait_for_selector("[data-el=preview]:not([hidden])")
    preview = page.locator("[data-el=preview]")
    dataset_id = preview.get_attribute("data-dataset-id")
    candles = page.eval_on_selector(
        "[data-el=candles]", "el => el.data.map(t => [t.type, t.x.length, t.x.at(-1)])"
    )
    # 1,461 daily bars merged three to a candle: the chart spans the whole file (the last
    # candle holds 2022-12-07 .. 2022-12-09 and is stamped with its first bar).
    assert candles == [["candlestick", 487, "2022-12-07T00:00:00+00:00"],
                       ["bar", 487, "2022-12-07T00:00:00+00:00"]]
    table = page.locator("[data-el=preview-table] tbody tr")
    assert table.count() == 11
    assert table.first.locator("th").inner_text() == "2018-12-10 00:00:00"
    assert table.last.locator("th").inner_text() == "2022-12-09 00:00:00"
    assert page.locator(f"tr[data-dataset-id='{dataset_id}']").count() == 1
    tab.shot("datasets")

    page.click("[data-el=preview-train]")
    page.wait_for_url(f"**/training?dataset={dataset_id}")
    page.wait_for_load_state("networkidle")
    assert page.input_value("#f-dataset") == dataset_id
    group = page.eval_on_selector("#f-dataset option:checked", "o => o.parentElement.label")
    assert group == "Uploaded"
    assert page.is_disabled("#f-demoDays")
    fill_form(page, epochs="10")
    page.click("text=Start Training")
    page.wait_for_url(re.compile(r"job=[0-9a-f]{16}$"))
    job_id = page.url.rsplit("=", 1)[1]
    assert_results(tab, job_id)
    assert tab.server.client.get(f"/api/jobs/{job_id}").json()["dataset"] == dataset_id


def test_drop_a_file_on_the_upload_zone(tab: Tab, real_data_dir: Path) -> None:
    page = tab.open("/datasets")
    content = (real_data_dir / DROP_FILE).read_text()
    transfer = page.evaluate_handle(
        """([name, text]) => { const data = new DataTransfer();
        data.items.add(new File([text], name, { type: "text/csv" })); return data; }""",
        [DROP_FILE, content],
    )
    page.dispatch_event("[data-el=dropzone]", "drop", {"dataTransfer": transfer})
    page.wait_for_selector("[data-el=report]:not([hidden])")
    report = page.inner_text("[data-el=report]")
    assert "744" in report
    assert "1h" in report
    assert "Gaps: 0 (steps over 3× the median spacing)" in report
    assert "Price outliers: 0" in report
    page.wait_for_selector("[data-el=preview]:not([hidden])")
    assert page.inner_text("[data-el=preview-name]") == Path(DROP_FILE).stem


def test_invalid_values_are_refused_next_to_their_field(tab: Tab) -> None:
    page = tab.open("/training")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    before = tab.server.client.get("/api/jobs").json()["total"]

    fill_form(page, epochs="0")
    page.click("text=Start Training")
    error = page.locator("#f-epochs-error")
    assert error.inner_text() == "Epochs must be between 1 and 100000."
    assert page.get_attribute("#f-epochs", "aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "f-epochs"
    assert posts == []

    tab.problems.expect(422, r"/api/train$")
    fill_form(page, epochs="10", split="0.5,0.2,0.2")
    with page.expect_response(re.compile(r"/api/train$")) as answer:
        page.click("text=Start Training")
    assert answer.value.status == 422
    split_error = page.locator("#f-split-error")
    split_error.wait_for()
    assert "sum to 1" in split_error.inner_text()
    assert error.is_hidden()
    assert page.is_enabled("[data-el=start]")
    assert len(tab.problems.expected_seen) == 1
    assert tab.server.client.get("/api/jobs").json()["total"] == before
    tab.shot("training-validation")


def test_reload_mid_training_resumes_the_stream_then_cancel(tab: Tab) -> None:
    page = tab.open("/training")
    fill_form(page, dataset="demo", **SLOW_JOB)
    page.click("text=Start Training")
    page.wait_for_url(re.compile(r"job=[0-9a-f]{16}$"))
    job_id = page.url.rsplit("=", 1)[1]
    page.wait_for_function(  # a function, not an expression: the pages' CSP forbids eval
        "() => document.querySelector('[data-el=loss-chart]').data?.[0].x.length >= 3",
        timeout=WAIT_MS,
    )

    resumed: list[str | None] = []

    def on_request(request: Request) -> None:
        if request.url.endswith("/events"):
            resumed.append(request.headers.get("last-event-id"))

    page.on("request", on_request)
    with tab.problems.leaving_page():
        page.reload()
    page.wait_for_selector("[data-el=status][data-status=running]")
    drawn = tab.chart_points("loss-chart")[0]
    assert drawn >= 3, "the reloaded page did not draw the history"
    page.wait_for_function(
        f"() => document.querySelector('[data-el=loss-chart]').data[0].x.length >= {drawn + 2}"
    )
    assert resumed, "the reloaded page did not follow the job"
    assert int(resumed[0] or 0) > drawn, "the stream was not resumed after the history"
    assert page.is_disabled("[data-el=start]")
    epochs = page.eval_on_selector("[data-el=loss-chart]", "el => el.data[0].x")
    assert epochs == sorted(set(epochs)), "an epoch was drawn twice"
    tab.shot("training-running")

    page.click("[data-el=cancel]")
    page.wait_for_selector("[data-el=status][data-status=cancelled]", timeout=15_000)
    status = tab.server.client.get(f"/api/jobs/{job_id}").json()
    assert status["status"] == "cancelled"
    assert status["epoch"] < 500
    assert page.is_hidden("[data-el=cancel]")
    assert page.is_enabled("[data-el=start]")
    assert page.is_hidden("[data-el=results]")


def test_overview_trains_on_demo_data_and_jobs_filter(tab: Tab) -> None:
    page = tab.open("/")
    assert int(page.inner_text("[data-el=datasets]")) >= 1
    tab.shot("overview")
    page.click("text=Train on demo data")
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f]{16}$"))
    job_id = page.url.rsplit("/", 1)[1]
    assert_results(tab, job_id)

    page = tab.open("/")
    row = page.locator(f"[data-jobs] tr[data-job-id='{job_id}']")
    assert row.locator(".badge").inner_text() == "succeeded"
    r2 = row.locator("td").nth(5)
    page.wait_for_function("el => el.textContent !== '…'", arg=r2.element_handle())
    assert float(r2.inner_text()) == pytest.approx(api_r2(tab.server, job_id), abs=1e-3)

    page = tab.open("/jobs?status=succeeded")
    statuses = page.locator("[data-jobs] .badge").all_inner_texts()
    assert statuses
    assert set(statuses) == {"succeeded"}
    assert page.input_value("#status-filter") == "succeeded"
    page.select_option("#status-filter", "cancelled")
    page.click("text=Filter")
    page.wait_for_url("**/jobs?status=cancelled")
    page.wait_for_load_state("networkidle")
    assert set(page.locator("[data-jobs] .badge").all_inner_texts()) <= {"cancelled"}
    page = tab.open("/jobs")
    tab.shot("jobs")


def api_r2(server: Server, job_id: str) -> float:
    """The job's test R² as the API reports it."""
    return server.client.get("/api/train", params={"jobId": job_id}).json()["metrics"]["r2"]


@pytest.mark.parametrize("path", PAGES)
def test_phone_width_keyboard_labels_and_contrast(open_tab: Callable[..., Tab], path: str) -> None:
    tab = open_tab(width=390)
    page = tab.open(path)
    width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert width[0] <= width[1], f"{path} scrolls sideways on a phone: {width}"
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll("input, select")]
        .filter(e => e.labels.length === 0 && !e.getAttribute("aria-label")).map(e => e.id)"""
    )
    assert unlabelled == []
    assert contrast_failures(page) == []
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.closest('main') !== null")
    assert focused, "the skip link does not lead into the page's content"
    tab.shot(f"phone-{PAGES[path].lower().replace(' ', '-')}")


def test_a_long_run_is_redrawn_from_the_downsampled_history(tab: Tab) -> None:
    job_id = submit(tab.server.client, **LONG_RUN)
    page = tab.page
    page.goto(f"/jobs/{job_id}")  # not waiting for the network to be idle: it streams
    page.wait_for_function("() => window.Plotly")
    count_calls(page, "extendTraces")
    page.wait_for_selector("[data-el=status][data-status=succeeded]", timeout=WAIT_MS)
    page.wait_for_selector("[data-el=results]:not([hidden])")
    epochs = page.eval_on_selector("[data-el=loss-chart]", "el => el.data[0].x")
    assert page.evaluate("window.calls.extendTraces") >= 2, "the run was not followed live"
    assert epochs[-1] == LONG_RUN["epochs"]
    assert epochs == sorted(set(epochs)), "an epoch was drawn twice or out of order"
    assert len(epochs) <= 2000, "the chart was not redrawn from the downsampled history"


def test_job_page_shows_the_walk_forward_folds(tab: Tab) -> None:
    # POST /api/train does not ask for walk-forward folds, so the job's answer is given a
    # real walk-forward block (from the pipeline) on its way to the page.
    job_id = submit(tab.server.client, demoDays=200, epochs=10)
    wait_finished(tab.server.client, job_id)
    detail = tab.server.client.get(f"/api/jobs/{job_id}").json()
    spec = RunSpec(dataset="demo", demo_days=400, epochs=10, walk_forward=3)
    document = weights_document(train_run(spec))
    detail["result"]["walk_forward"] = document["walk_forward"]
    detail["result"]["evidence"] = document["evidence"]
    detail["verdict"] = headline(document)
    tab.page.route(f"**/api/jobs/{job_id}", lambda route: route.fulfill(json=detail))
    page = tab.open(f"/jobs/{job_id}")
    page.wait_for_selector("[data-el=walk-forward]:not([hidden])")
    rows = page.locator("[data-el=walk-forward-table] tbody tr")
    assert rows.count() == 3
    assert rows.first.locator("th").inner_text() == "1"
    assert "of 3 folds" in page.inner_text("[data-el=walk-forward-summary]")
    verdict = page.inner_text("[data-el=evidence] [data-el=verdict]")
    assert verdict.startswith("walk-forward, 3 folds pooled: ")
    assert "by fold: rank IC" in verdict
    assert page.locator("[data-el=evidence-pooled-table] tbody tr").count() == 7
    assert page.locator("[data-el=evidence-folds-table] tbody tr").count() == 3
    tab.shot("job-walk-forward")


def test_a_job_page_for_an_unknown_job_says_so(tab: Tab) -> None:
    tab.problems.expect(404, r"/api/jobs/0{16}$")
    page = tab.open(f"/jobs/{'0' * 16}")
    assert "There is no job" in page.inner_text("#notice")
    assert tab.problems.expected_seen


def test_api_token_is_asked_for_and_kept_in_the_tab(
    open_tab: Callable[..., Tab], tmp_path: Path
) -> None:
    token = "s3cret-token-for-the-dashboard-test"
    with Server(tmp_path, workers=0, env={"SSOTS_API_TOKEN": token}) as secured:
        tab = open_tab(on=secured)
        tab.problems.expect(401, r"/api/datasets$")
        page = tab.open("/datasets")
        page.wait_for_selector("#token-dialog[open]")
        page.fill("#token-input", token)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.wait_for_selector("tr[data-dataset-id=demo]")
        assert page.evaluate("sessionStorage.getItem('ssots.apiToken')") == token
        assert token not in page.content()
        assert tab.problems.expected_seen


def test_every_page_links_its_scripts_that_exist(client: TestClient) -> None:
    for path in PAGES:
        html = client.get(path).text
        for source in re.findall(r'<script[^>]+src="([^"]+)"', html):
            assert client.get(source).status_code == 200, source
        stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', html)
        assert stylesheet is not None
        assert client.get(stylesheet[1]).status_code == 200
