"""Fixtures of the browser tests: Debian's chromium driven by Playwright against pytest-django's live server.

    @pytest.mark.django_db(transaction=True)
    def test_dashboard(page, live_server):
        login(page, live_server, "boss", "pw")
        page.goto(f"{live_server.url}/admin/dashboard/")

    @pytest.mark.parametrize("page", ["en"], indirect=True)   # the browser's language (default zh-CN)
    def test_in_english(page, live_server): ...

Rule: outside CI a browser test is skipped, with the reason in ``-ra``'s summary, when ``/usr/bin/chromium``
(Debian's ``chromium`` package) or the ``playwright`` package is missing; with ``CI=true`` it fails instead
(tests/markers.py). Playwright's bundled browsers are never used, nor downloaded: ``playwright install`` is
not needed.

One chromium serves every browser test of a run; each test gets a fresh context (cookies, storage, language).

Playwright's sync API keeps an asyncio loop marked as running in the main thread from the moment it starts
until it stops. While it runs, the ORM calls of a test and of pytest-django's database fixtures (same thread)
would trip Django's "async unsafe" check, so ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set here (tests only). To keep
that loop from leaking into the rest of the suite, Playwright stops after the last browser test of a run of
consecutive browser tests (``pytest_runtest_teardown`` below) and the variable is removed with it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests import markers

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 900}
# Playwright's default wait (30 s) is for the open internet; a local live server answers in well under this,
# also on a busy two-core CI machine.
TIMEOUT_MS = 15_000
BROWSER_DIR = Path(__file__).parent

# Where screenshots for the docs go (docs/screenshots/, committed).
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"needs Debian's chromium at {CHROMIUM}: apt-get install chromium fonts-noto-cjk (.ci/run does)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs the playwright package: pip install -r requirements-dev.txt"
    return None


class _Chromium:
    """One Playwright driver and one chromium, started on first use and stopped when the browser tests end."""

    def __init__(self) -> None:
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._async_unsafe_before: str | None = None

    def get(self) -> Browser:
        if self._browser is None:
            from playwright.sync_api import sync_playwright

            self._async_unsafe_before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
        return self._browser

    def stop(self) -> None:
        if self._playwright is None:
            return
        try:
            if self._browser is not None:
                self._browser.close()
        finally:
            self._playwright.stop()
            self._playwright = self._browser = None
            if self._async_unsafe_before is None:
                os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
            else:
                os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = self._async_unsafe_before


_chromium = _Chromium()


def _uses_browser(item: pytest.Item | None) -> bool:
    return item is not None and "browser" in getattr(item, "fixturenames", ())


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip (outside CI) or fail (CI) a browser test before its fixtures build a database for nothing."""
    if _uses_browser(item):
        markers.require(chromium_missing())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After the test's own teardown (database flush included), stop chromium unless the next test uses it."""
    try:
        return (yield)
    finally:
        if not _uses_browser(nextitem):
            _chromium.stop()


def pytest_sessionfinish(session: pytest.Session) -> None:
    _chromium.stop()


@pytest.fixture
def browser() -> Browser:
    """Debian's headless chromium, shared by the browser tests of a run (see the module docstring)."""
    markers.require(chromium_missing())
    return _chromium.get()


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    """A page in a fresh context (no cookies), 1400×900, in ``zh-CN`` or the language given as parameter."""
    locale = getattr(request, "param", "zh-CN")
    context = browser.new_context(viewport=VIEWPORT, locale=locale, extra_http_headers={"Accept-Language": locale})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def login(page: Page, live_server: Any, username: str, password: str) -> None:
    """Log in through the admin's login form and wait until the admin index (or ``next``) has loaded."""
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("input[type=submit], button[type=submit]")
    if page.url.rstrip("/").endswith("/admin/login"):
        errors = page.locator(".errornote").all_inner_texts()
        raise AssertionError(f"login as {username!r} failed: {errors}")


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot of the page as docs/screenshots/<name>.png (for docs/admin.md) and return its path."""
    if not re.fullmatch(r"[a-z0-9-]+", name):
        raise ValueError(f"screenshot names are lowercase words with dashes, not {name!r}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
