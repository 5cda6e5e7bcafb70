"""The study pages in a real browser (Chromium under Playwright) against a real ``ssots
serve``: a study started from the form runs live, draws Optuna's four figures, sorts its
trials by value, shows its one test evaluation and registers its best trial. Every test
fails on a console error or a failed request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from test_dashboard import Tab, browser, open_tab, tab  # noqa: F401  (fixtures)
from web_support import Server

FIGURES = ("history", "importances", "parallel", "intermediate")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with Server(tmp_path_factory.mktemp("home"), workers=2) as running:
        yield running


def test_a_study_from_the_form_runs_live_and_registers_its_best(tab: Tab) -> None:  # noqa: F811
    page = tab.open("/studies")
    assert page.locator("#s-trials").input_value() == "50"  # ssots tune's default
    page.locator("#s-trials").fill("4")
    page.locator("#s-epochs").fill("40")
    page.locator("#s-objective").select_option("val_mse")
    page.get_by_role("button", name="Start study").click()
    page.wait_for_url("**/studies/*")
    page.locator("[data-el=status][data-status=finished]").wait_for(timeout=180_000)
    page.wait_for_function(  # a function, not an expression: the pages' CSP forbids eval
        "names => names.every(n => document.querySelector(`[data-el=fig-${n}]`).data?.length)",
        arg=list(FIGURES),
        timeout=60_000,
    )
    rows = page.locator("[data-trial]")
    assert rows.count() == 4
    page.locator("[data-el=sort-value]").click()  # descending
    values = [float(v) for v in page.eval_on_selector_all(
        "[data-trial] [data-value]", "els => els.map(e => e.dataset.value)") if v]  # fmt: skip
    assert values == sorted(values, reverse=True)
    page.locator("[data-el=sort-value]").click()  # ascending
    values = [float(v) for v in page.eval_on_selector_all(
        "[data-trial] [data-value]", "els => els.map(e => e.dataset.value)") if v]  # fmt: skip
    assert values == sorted(values)
    assert "after 4 trials" in page.locator("[data-el=test-note]").inner_text()
    assert "Deflated Sharpe ratio (4 trials)" in page.locator("[data-el=test]").inner_text()
    page.locator("#register-name").fill("tuned-demo")
    page.get_by_role("button", name="Register best as model version").click()
    link = page.locator("[data-el=registered] a")
    link.wait_for()
    assert link.inner_text() == "tuned-demo v1"
    page.screenshot(path=str(tab_artifact("study.jpg")), type="jpeg", quality=70, full_page=True)
    listed = tab.open("/studies")
    listed.locator("[data-study]").first.wait_for()
    assert listed.locator("[data-study] .badge").first.inner_text() == "finished"


def tab_artifact(name: str):
    from browser_support import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
