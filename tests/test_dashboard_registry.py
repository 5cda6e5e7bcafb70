"""The dashboard's comparison and model-registry pages in a real browser (Chromium under
Playwright) against a real ``ssots serve``: two small runs trained through the API, one
model with a version of each. Every test fails on a console error or a failed request."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from test_dashboard import Tab, browser, client, open_tab, tab  # noqa: F401  (fixtures)
from web_support import Server, TestClient, submit, wait_finished

MODEL = "btc-demo"
RUN_FIELDS = [{"lr": 0.01}, {"lr": 0.03}]
"""The two registered runs differ in their learning rate only (same demo data)."""
OTHER_DATA = {"demoDays": 230, "epochs": 5}
"""A third run, on other data (trained last: the first row on /jobs)."""


@pytest.mark.parametrize(
    ("path", "script"),
    [("/compare?runs=a,b", "compare.js"), ("/models", "models.js"), ("/models/m-1.x", "model.js")],
)
def test_registry_pages_link_their_scripts(
    client: TestClient,  # noqa: F811
    path: str,
    script: str,
) -> None:
    html = client.get(path).text
    sources = re.findall(r'<script[^>]+src="([^"]+)"', html)
    assert f"/static/js/{script}" in sources
    for source in sources:
        assert client.get(source).status_code == 200, source
    assert 'href="/models"' in html


def test_a_malformed_model_name_is_a_404_page(client: TestClient) -> None:  # noqa: F811
    answer = client.get("/models/-bad")
    assert answer.status_code == 404
    assert "model" in answer.text


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``ssots serve`` with two trained runs, both registered as versions of ``MODEL``."""
    with Server(tmp_path_factory.mktemp("home"), workers=2) as running:
        jobs = [submit(running.client, demoDays=200, epochs=8, **f) for f in RUN_FIELDS]
        other = submit(running.client, **OTHER_DATA)
        for job_id in [*jobs, other]:
            assert wait_finished(running.client, job_id)["status"] == "success"
        runs = running.client.get("/api/runs", params={"source": "job"}).json()["runs"]
        by_job = {run["job_id"]: run["id"] for run in runs}
        for job_id in jobs:
            body = {"name": MODEL, "run_id": by_job[job_id]}
            answer = running.client.post("/api/models", json=body)
            assert answer.status_code == 201, answer.text
        yield running


def traces(on: Tab, chart: str) -> list[dict[str, Any]]:
    """Name, point count and y-axis type of each trace of the chart marked ``chart``."""
    return on.page.eval_on_selector(
        f"[data-el={chart}]",
        "el => (el.data || []).map(t => ({name: t.name, points: (t.x || []).length,"
        " log: el.layout.yaxis.type === 'log'}))",
    )


def test_compare_two_runs_from_the_jobs_page(tab: Tab) -> None:  # noqa: F811
    page = tab.open("/jobs")
    boxes = page.locator("input[data-run]")
    assert boxes.count() == 3
    button = page.locator("[data-el=compare]")
    boxes.nth(1).check()
    assert button.is_disabled()
    boxes.nth(2).check()
    button.click()
    page.wait_for_url("**/compare?runs=*")
    page.wait_for_load_state("networkidle")
    spec = page.locator("[data-el=spec]")
    assert spec.locator("tbody th", has_text="lr").count() == 1
    assert spec.locator("tbody th", has_text="epochs").count() == 0  # equal: hidden
    page.locator("[data-el=all-fields]").check()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-el=spec] tbody th')]"
        ".some(t => t.textContent === 'epochs')"
    )
    assert page.locator("[data-el=metrics] .best").count() >= 1
    assert page.locator("[data-el=warning]").is_hidden()  # same data
    loss = traces(tab, "loss-chart")
    assert len(loss) == 4
    assert all(t["points"] >= 2 for t in loss)
    assert not loss[0]["log"]
    page.locator("[data-el=log-scale]").check()
    page.wait_for_function(
        "() => document.querySelector('[data-el=loss-chart]').layout.yaxis.type === 'log'"
    )
    page.locator("[data-el=smooth]").check()
    equity = traces(tab, "equity-chart")
    assert len(equity) == 2
    assert all(t["points"] > 10 for t in equity)
    assert len(traces(tab, "params-chart")) == 2
    assert page.locator("[data-el=params] tbody tr").count() == 13
    evidence = page.locator("[data-el=evidence] tbody tr")
    assert evidence.count() == 2
    for row in evidence.all():
        lines = row.locator("[data-el=verdict]").all_inner_texts()
        assert len(lines) == 2  # the recorded verdict and the one with BH across the runs
        assert all("evidence of skill: rank IC" in line for line in lines)
        assert "BH-adjusted" in lines[1]
    tab.shot("compare-runs")


def test_compare_warns_when_the_runs_used_different_data(tab: Tab) -> None:  # noqa: F811
    page = tab.open("/jobs")
    page.locator("input[data-run]").nth(0).check()
    page.locator("input[data-run]").nth(1).check()
    page.locator("[data-el=compare]").click()
    page.wait_for_url("**/compare?runs=*")
    page.wait_for_load_state("networkidle")
    warning = page.locator("[data-el=warning]")
    assert warning.is_visible()
    assert "different data" in warning.inner_text()
    assert page.locator("[data-el=spec] tbody th", has_text="demo_days").count() == 1


def test_promote_a_version_to_champion_and_roll_it_back(tab: Tab) -> None:  # noqa: F811
    page = tab.open("/models")
    page.locator(f"[data-model='{MODEL}'] a").click()
    page.wait_for_url(f"**/models/{MODEL}")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-version-row]").count() == 2
    for verdict in page.locator("[data-version-row] [data-el=verdict]").all_inner_texts():
        assert "evidence of skill: rank IC" in verdict
    assert len(traces(tab, "metrics-chart")) >= 1
    page.locator("[data-promote='1']").click()
    page.wait_for_selector("[data-el=alias-champion]:text('v1')")
    page.locator("[data-promote='2']").click()
    page.wait_for_selector("[data-el=alias-champion]:text('v2')")
    page.locator("[data-rollback=champion]").click()
    page.wait_for_selector("[data-el=alias-champion]:text('v1')")
    history = tab.server.client.get(f"/api/models/{MODEL}/aliases/champion/history").json()
    assert [(e["kind"], e["to"]) for e in history["history"]][-1] == ("rollback", 1)
    assert len(history["history"]) == 3
    assert page.locator("[data-alias=champion] tbody tr").count() == 3
    tab.shot("model-page")


def test_score_the_latest_bars_on_the_model_page(tab: Tab) -> None:  # noqa: F811
    page = tab.open(f"/models/{MODEL}")
    page.select_option("#score-dataset", "demo")
    page.select_option("#score-use", "version=2")
    page.fill("#score-last", "7")
    page.locator("[data-el=score-form] button[type=submit]").click()
    page.wait_for_selector("[data-el=score] tbody tr")
    assert page.locator("[data-el=score] tbody tr").count() == 7
    summary = page.locator("[data-el=score-summary]").inner_text()
    assert f"models:/{MODEL}/2" in summary
    assert "taken" in summary
    assert "skipped" in summary
    cells = page.locator("[data-el=score] tbody tr").first.locator("td").all_inner_texts()
    assert cells[-1] in ("taken", "skipped")
    float(cells[2])
    float(cells[3])


def test_compare_versions_from_the_model_page(tab: Tab) -> None:  # noqa: F811
    page = tab.open(f"/models/{MODEL}")
    for box in page.locator("input[data-version]").all():
        box.check()
    page.locator("[data-el=compare]").click()
    page.wait_for_url("**/compare?model=*")
    page.wait_for_load_state("networkidle")
    assert len(traces(tab, "loss-chart")) == 4
    assert page.locator("[data-el=spec] tbody th", has_text="lr").count() == 1
