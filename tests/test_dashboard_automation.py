"""The dashboard's schedules and webhooks pages in a real browser (Chromium under
Playwright) against a real ``ssots serve``: a schedule added through the form shows its
next five fire times, runs now, and its run records the promotion decision; a webhook
subscribed through the form shows its secret once, and its test delivery, verified by a
receiver with that secret, is listed with its attempt. Every test fails on a console error
or a failed request."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from test_dashboard import Tab, browser, client, open_tab, tab  # noqa: F401  (fixtures)
from test_webhooks import Receiver
from web_support import Server, TestClient

WAIT_MS = 120_000


@pytest.mark.parametrize(
    ("path", "script"), [("/schedules", "schedules.js"), ("/webhooks", "webhooks.js")]
)
def test_automation_pages_link_their_scripts_and_sit_in_the_sidebar(
    client: TestClient,  # noqa: F811
    path: str,
    script: str,
) -> None:
    html = client.get(path).text
    sources = re.findall(r'<script[^>]+src="([^"]+)"', html)
    assert f"/static/js/{script}" in sources
    for source in sources:
        assert client.get(source).status_code == 200, source
    assert re.findall(r'<a href="([^"]+)" aria-current="page">', html) == [path]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``ssots serve`` that may send webhooks to loopback (the test's receiver)."""
    env = {"SSOTS_WEBHOOK_ALLOW_PRIVATE": "1", "SSOTS_WEBHOOK_RETRY_SCALE": "0.01"}
    with Server(tmp_path_factory.mktemp("home"), workers=1, env=env) as running:
        yield running


def test_add_a_schedule_see_its_fire_times_run_it_and_read_the_decision(tab: Tab) -> None:  # noqa: F811
    page = tab.open("/schedules")
    page.fill("#s-name", "nightly")
    page.fill("#s-cron", "30 2 * * *")
    page.fill("#s-timezone", "Europe/Berlin")
    page.fill("#s-model", "btc-browser")
    page.click("[data-el=schedule-form] button[type=submit]")
    card = page.locator("[data-schedule=nightly]")
    card.wait_for()
    assert card.locator("[data-el=upcoming] li").count() == 5
    assert "30 2 * * *" in card.inner_text()
    card.get_by_role("button", name="Run now").click()
    decision = page.locator("[data-schedule=nightly] [data-el=decision]").first
    decision.wait_for()
    page.wait_for_function(
        "() => document.querySelector('[data-schedule=nightly] [data-el=decision]')"
        ".textContent.includes('no champion yet')",
        timeout=WAIT_MS,
    )
    tab.shot("schedules")
    card.get_by_role("button", name="Pause").click()
    page.locator("[data-schedule=nightly] [data-el=upcoming] li.muted").wait_for()
    model = tab.server.client.get("/api/models/btc-browser").json()
    assert model["aliases"] == {"challenger": 1, "champion": 1}


def test_subscribe_see_the_secret_once_and_follow_a_test_delivery(tab: Tab) -> None:  # noqa: F811
    receiver = Receiver()
    page = tab.open("/webhooks")
    page.fill("#w-url", receiver.url)
    page.click("[data-el=webhook-form] button[type=submit]")
    secret = page.locator("[data-el=secret-value]").inner_text()
    assert secret.startswith("whsec_")
    row = page.locator("tr[data-webhook]")
    row.wait_for()
    row.get_by_role("button", name="Send test").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-el=attempts]')]"
        ".some(cell => cell.textContent.startsWith('200'))",
        timeout=WAIT_MS,
    )
    tab.shot("webhooks")
    (payload,) = receiver.verified(secret)
    assert payload["type"] == "webhook.test"
    with tab.problems.leaving_page():
        page.reload()
    page.wait_for_load_state("networkidle")
    assert secret not in page.content()  # shown once
    receiver.close()
