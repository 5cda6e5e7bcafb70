"""The API's documentation pages, /docs (Swagger UI) and /redoc (ReDoc): served with
their scripts from an installed package, so they work without a network. Checked in
the app and in a real browser (Playwright driving Debian's Chromium) that may reach
nothing but the loopback server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from browser_support import PageProblems, launch_chromium, require_browser, screenshot
from ssots.web import create_app
from web_support import Server, TestClient, make_settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Route

ACTION_MS = 20_000
"""Longest wait for anything in the browser (CI machines are slow and loaded)."""
DOC_PAGES = ("/docs", "/redoc")
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
"""The one file ReDoc asks another host for: its "powered by" logo, which it hides when
the image fails to load (nothing else on the page depends on it)."""


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app in-process (no workers)."""
    app = create_app(make_settings(tmp_path_factory.mktemp("docs")), workers=0)
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize("path", DOC_PAGES)
def test_doc_pages_load_only_files_the_app_serves(client: TestClient, path: str) -> None:
    html = client.get(path).text
    links = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert links, html
    for link in links:
        assert link.startswith("/"), f"{path} loads {link} from another host"
        answer = client.get(link)
        assert answer.status_code == 200, link
        assert len(answer.content) > 1000, link
    assert "cdn." not in html
    assert "fonts.googleapis" not in html


def test_openapi_documents_the_event_stream(client: TestClient) -> None:
    events = client.get("/openapi.json").json()["paths"]["/api/jobs/{job_id}/events"]["get"]
    assert "text/event-stream" in events["responses"]["200"]["content"]


# -- in the browser, offline -------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (the test skips or fails when it is missing)."""
    require_browser()
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``ssots serve`` serving the API only, in a temporary SSOTS_HOME."""
    with Server(tmp_path_factory.mktemp("home"), workers=0) as running:
        yield running


@pytest.mark.parametrize(
    ("path", "operation"),
    [
        ("/docs", ".opblock .opblock-summary-path"),
        ("/redoc", "[data-section-id*='operation/']"),
    ],
)
def test_doc_pages_list_the_operations_with_the_network_blocked(
    browser: Browser, server: Server, path: str, operation: str
) -> None:
    blocked: list[str] = []

    def loopback_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    operations = len(
        [op for item in server.client.get("/openapi.json").json()["paths"].values() for op in item]
    )
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    try:
        context.route("**/*", loopback_only)
        page = context.new_page()
        page.set_default_timeout(ACTION_MS)
        problems = PageProblems()
        problems.watch(page)
        page.goto(path)
        page.wait_for_selector(operation)
        page.wait_for_load_state("networkidle")
        shown = page.locator(operation).count()
        text = page.inner_text("body")
        screenshot(page, f"api-docs-{path.strip('/')}")
    finally:
        context.close()
    assert [url for url in blocked if url != REDOC_LOGO] == [], f"{path} needs other hosts"
    assert shown >= operations, (shown, operations)
    assert "/api/train" in text
    assert "/api/jobs/{job_id}/events" in text
    problems.problems = [line for line in problems.problems if REDOC_LOGO not in line]
    problems.check()


def test_the_docs_files_ship_in_an_installed_package() -> None:
    from importlib import resources

    from ssots.web.docs import ASSETS_PACKAGE

    package, folder = ASSETS_PACKAGE
    files = {entry.name for entry in (resources.files(package) / folder).iterdir()}
    assert {"swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"} <= files
    assert not Path(str(resources.files(package))).is_relative_to(Path(__file__).parents[1])
