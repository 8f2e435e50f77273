"""The supervisors' dashboard in a real browser (Debian's chromium through Playwright)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login


@pytest.mark.django_db(transaction=True)
def test_admin_login_page_renders_in_chinese(page, live_server, tmp_path) -> None:
    page.goto(f"{live_server.url}/admin/login/")

    assert page.locator("#id_username").is_visible()
    assert "用户名" in page.locator("label[for=id_username]").inner_text()
    path = tmp_path / "login.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 1000


@pytest.mark.parametrize("page", ["en"], indirect=True)
@pytest.mark.django_db(transaction=True)
def test_admin_login_page_follows_the_browser_language(page, live_server, django_user_model, tmp_path) -> None:
    django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-123")
    page.goto(f"{live_server.url}/admin/login/")
    assert "Username" in page.locator("label[for=id_username]").inner_text()
    login(page, live_server, "boss", "pw-boss-123")
    assert page.locator("#user-tools").is_visible()
    page.screenshot(path=str(tmp_path / "index.png"))
