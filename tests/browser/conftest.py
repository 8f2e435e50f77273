"""Fixtures of the browser tests: Debian's chromium driven by Playwright against pytest-django's live server.

    @pytest.mark.django_db(transaction=True, serialized_rollback=True)
    def test_dashboard(page, live_server):
        login(page, live_server, "boss", "pw")
        page.goto(f"{live_server.url}/admin/dashboard/")

    @pytest.mark.parametrize("page", ["en"], indirect=True)   # the browser's language (default zh-CN)
    def test_in_english(page, live_server): ...

Rule: outside CI a browser test is skipped, with the reason in ``-ra``'s summary, when ``/usr/bin/chromium``
(Debian's ``chromium`` package) or the ``playwright`` package is missing; with ``CI=true`` it fails instead
(tests/markers.py). Playwright's bundled browsers are never used, nor downloaded: ``playwright install`` is
not needed.

One chromium serves every browser test of a run (started by the first, stopped at the end of the session);
each test gets a fresh context (cookies, storage, language). The live server needs committed rows
(``transaction=True``); ``serialized_rollback=True`` brings back what the data migrations made (departments,
reason codes) after an earlier transactional test's flush.

Playwright's sync API runs an asyncio loop in the test's own thread and leaves it marked as running between
its calls. Django then takes the thread for async code: the ORM raises "async unsafe", and
``django.db.connections`` (a thread-critical ``asgiref.local.Local``) hands out *other* connection objects,
so pytest-django's setup and teardown (flush, the ``serialized_rollback`` reload) and the test's own queries
would not share a connection, and every test after the first browser test would be affected. Hence:

- the loop is marked running only from the ``browser`` fixture's setup to its teardown; outside (database
  fixtures, other tests) the thread is plain synchronous again (``_Chromium.show_loop`` / ``hide_loop``);
- while it is marked, the thread's connections are the same objects as outside (``browser`` installs them), and
  ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set (tests only) so the ORM may run in the test and in Playwright callbacks.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
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
    """One Playwright driver and one chromium, started on first use and stopped after the browser tests."""

    def __init__(self) -> None:
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._async_unsafe_before: str | None = None

    def get(self) -> Browser:
        if self._browser is None:
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            self._loop = asyncio._get_running_loop()  # left marked running by start()
            self._browser = self._playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            self.hide_loop()
        return self._browser

    def show_loop(self) -> None:
        """Mark Playwright's loop running again, as its calls need (see the module docstring)."""
        self._async_unsafe_before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        asyncio._set_running_loop(self._loop)

    def hide_loop(self) -> None:
        """Unmark it: no Playwright call may run until ``show_loop``; Django sees a synchronous thread."""
        asyncio._set_running_loop(None)
        if self._async_unsafe_before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = self._async_unsafe_before

    def stop(self) -> None:
        if self._playwright is None:
            return
        self.show_loop()
        try:
            if self._browser is not None:
                self._browser.close()
        finally:
            self._playwright.stop()  # runs the loop to its end, which unmarks it
            self._playwright = self._browser = self._loop = None
            self.hide_loop()


_chromium = _Chromium()


def _uses_browser(item: pytest.Item | None) -> bool:
    return item is not None and "browser" in getattr(item, "fixturenames", ())


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip (outside CI) or fail (CI) a browser test before its fixtures build a database for nothing."""
    if _uses_browser(item):
        markers.require(chromium_missing())


def pytest_sessionfinish(session: pytest.Session) -> None:
    _chromium.stop()


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Debian's headless chromium, shared by the browser tests of a run (see the module docstring).

    From here to its teardown Playwright's loop is marked running, with the thread's database connections
    unchanged; the database fixtures (autouse) are set up before it and torn down after it.
    """
    from django.db import connections

    markers.require(chromium_missing())
    shared = _chromium.get()
    same = {alias: connections[alias] for alias in connections}
    _chromium.show_loop()
    try:
        for alias, connection in same.items():
            connections[alias] = connection
        yield shared
    finally:
        _chromium.hide_loop()


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    """A page in a fresh context (no cookies), 1400×900, in ``zh-CN`` or the language given as parameter."""
    locale = getattr(request, "param", "zh-CN")
    context = browser.new_context(viewport=VIEWPORT, locale=locale, extra_http_headers={"Accept-Language": locale})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
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
    """Save a screenshot of the page and return its path.

    With ``KEFU_UPDATE_SCREENSHOTS=1`` it goes to docs/screenshots/<name>.png (for docs/admin.md); otherwise to a
    temporary folder, so running the tests leaves the documentation's pictures (and the work tree) alone.
    """
    if not re.fullmatch(r"[a-z0-9-]+", name):
        raise ValueError(f"screenshot names are lowercase words with dashes, not {name!r}")
    folder = (
        SCREENSHOTS
        if os.environ.get("KEFU_UPDATE_SCREENSHOTS") == "1"
        else Path(tempfile.gettempdir()) / "kefu-screenshots"
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
