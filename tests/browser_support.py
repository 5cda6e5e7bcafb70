"""Helpers of the browser tests: Debian's Chromium driven by Playwright (never a downloaded
browser), skipped with a reason when either is missing unless ``SSOTS_REQUIRE_BROWSER=1``
(CI) turns the skip into a failure; a page watcher that fails a test on any console error
or failed request; screenshots under ``test-artifacts/``."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response

CHROMIUM = os.environ.get("SSOTS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_FAILED_LOAD = re.compile(r"Failed to load resource: the server responded with a status of (\d+)")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
"""Screenshots for review (git-ignored)."""


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install '.[test]')"
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    return None


def require_browser() -> None:
    """Skip the calling test module when there is no browser; with
    ``SSOTS_REQUIRE_BROWSER=1`` a missing browser is a failure instead."""
    reason = browser_missing()
    if reason is None:
        return
    if os.environ.get("SSOTS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"SSOTS_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    """Debian's Chromium under Playwright, headless, with no network chatter."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageProblems:
    """What went wrong in a page: console errors, failed requests, answers >= 400.

    ``expected`` holds (status, URL pattern) pairs a test provokes on purpose; they are
    recorded in ``expected_seen`` instead of counting as problems.
    """

    expected: list[tuple[int, re.Pattern[str]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    expected_seen: list[tuple[int, str]] = field(default_factory=list)
    leaving: bool = False
    """Set while the test closes the page or navigates away from it: requests still in
    flight are aborted by that."""

    @contextmanager
    def leaving_page(self) -> Iterator[None]:
        """Around a navigation or reload: the page left aborts its requests in flight."""
        self.leaving = True
        try:
            yield
        finally:
            self.leaving = False

    def expect(self, status: int, url_pattern: str) -> None:
        """Allow answers with ``status`` from URLs matching ``url_pattern``."""
        self.expected.append((status, re.compile(url_pattern)))

    def is_expected(self, status: int, url: str) -> bool:
        """Whether an answer ``status`` from ``url`` was provoked on purpose."""
        return any(status == code and pattern.search(url) for code, pattern in self.expected)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        # Chromium also logs every answer >= 400; those provoked on purpose are no error.
        logged = _FAILED_LOAD.match(message.text)
        if logged and self.is_expected(int(logged[1]), message.location.get("url", "")):
            return
        self.problems.append(f"console error: {message.text} ({message.location})")

    def on_page_error(self, error: Any) -> None:
        self.problems.append(f"uncaught exception: {error}")

    def on_request_failed(self, request: Request) -> None:
        failure = request.failure or ""
        # An event stream or download the page closes on purpose when it navigates away.
        if "ERR_ABORTED" in failure and (self.leaving or request.url.endswith("/events")):
            return
        self.problems.append(f"request failed: {request.method} {request.url}: {failure}")

    def on_response(self, response: Response) -> None:
        if response.status < 400:
            return
        if self.is_expected(response.status, response.url):
            self.expected_seen.append((response.status, response.url))
            return
        self.problems.append(f"HTTP {response.status}: {response.request.method} {response.url}")

    def watch(self, page: Page) -> None:
        """Record ``page``'s problems from now on."""
        page.on("console", self.on_console)
        page.on("pageerror", self.on_page_error)
        page.on("requestfailed", self.on_request_failed)
        page.on("response", self.on_response)

    def check(self) -> None:
        """Fail the test if anything went wrong."""
        assert not self.problems, "problems in the browser:\n" + "\n".join(self.problems)


def contrast_failures(page: Page) -> list[str]:
    """Visible text of ``page`` whose contrast is below WCAG AA, with its ratio."""
    return page.evaluate((Path(__file__).parent / "contrast.js").read_text())


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as ``test-artifacts/<name>.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
