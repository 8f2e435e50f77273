"""The admin's face in a real browser (zh-hans, 1366×768): the index with the desk's name, the tickets first and
the infrastructure last (superusers only), a changelist with Django's 修改 and translated headers, and the friendly
403 and 404 pages. Screenshots docs/screenshots/desk-admin-index.png and desk-403.png (docs/desk.md)."""

from __future__ import annotations

import re

import pytest

from desk.demo.history import history_build
from desk.demo.scenarios import Demo
from desk.demo.setup import DEMO_PASSWORD, DEMO_USERNAME, STAFF_PASSWORD, users_ensure
from tests.browser.conftest import login, screenshot

SMALL_SCREEN = {"width": 1366, "height": 768}
ENGLISH_WORDS = re.compile(r"^[A-Za-z][A-Za-z ,.'()/-]*[a-z][A-Za-z ,.'()/-]*$")


@pytest.fixture
def demo_data(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    demo = Demo(users=users_ensure())
    demo.build()
    history_build(demo, tickets=30)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_superuser_sees_the_desk_first_and_the_system_last(page, live_server, demo_data) -> None:
    page.set_viewport_size(SMALL_SCREEN)
    login(page, live_server, DEMO_USERNAME, DEMO_PASSWORD)

    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.title() == "售后工作台 | kefu 售后"
    assert page.locator("#site-name").inner_text().strip() == "kefu 售后"
    assert page.locator("#user-tools a", has_text="查看站点").count() == 0
    headings = [text.strip() for text in page.locator("#content-main caption").all_inner_texts()]
    assert headings[:2] == ["数据看板", "售后单"]
    assert headings[-1] == "系统"
    assert page.locator("#content-main .app-system th#system-periodictask a").is_visible()
    assert page.locator("#content-main a.changelink").first.inner_text() == "修改"
    screenshot(page, "desk-admin-index")  # the whole index: the System group is last, below the fold

    # A changelist: Django's 修改 in the title, every column header in Chinese.
    page.goto(f"{live_server.url}/admin/routing/department/")
    title = page.locator("#content h1").inner_text()
    assert "修改" in title and "切换" not in title
    headers = [text.strip() for text in page.locator("#result_list thead th").all_inner_texts() if text.strip()]
    assert len(headers) >= 3
    assert [h for h in headers if ENGLISH_WORDS.match(h)] == []
    page.locator("#result_list tbody th a").first.click()
    assert page.locator("#content h1").inner_text().startswith("修改")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_agent_is_refused_the_dashboard_kindly_and_finds_the_way_back(page, live_server, demo_data) -> None:
    page.set_viewport_size(SMALL_SCREEN)
    login(page, live_server, "ops1", STAFF_PASSWORD)

    # The infrastructure is not on their index, and its pages refuse them.
    assert page.locator("#content-main .app-system").count() == 0
    response = page.goto(f"{live_server.url}/admin/django_celery_beat/periodictask/")
    assert response is not None and response.status == 403

    response = page.goto(f"{live_server.url}/admin/dashboard/")
    assert response is not None and response.status == 403
    assert page.locator("#error-title").inner_text() == "你无权打开此页面"
    assert "请向主管或管理员申请权限" in page.locator("#error-explanation").inner_text()
    assert page.locator("#site-name").inner_text().strip() == "kefu 售后"
    screenshot(page, "desk-403", full_page=False)

    page.click("#error-link-tickets")
    page.wait_for_url("**/admin/tickets/ticket/**")

    response = page.goto(f"{live_server.url}/admin/no-such-page/")
    assert response is not None and response.status == 404
    assert page.locator("#error-title").inner_text() == "此页面不存在"
    page.click("#error-link-desk")
    page.wait_for_url(f"{live_server.url}/admin/")
