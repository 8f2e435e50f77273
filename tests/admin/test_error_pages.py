"""Refused and missing pages (desk/errors.py): in the user's language, inside the admin's frame, with a way back
to work; the staff dashboard's 403 included (it was Django's bare English "403 Forbidden")."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.admin.conftest import desk_user

pytestmark = pytest.mark.django_db


def page(response) -> dict[str, object]:
    html = response.content.decode()
    title = re.search(r'<h1 id="error-title">(.*?)</h1>', html)
    explanation = re.search(r'<p id="error-explanation">(.*?)</p>', html, re.S)
    links = dict(re.findall(r'<a id="(error-link-\w+)" href="([^"]*)"', html))
    return {
        "status": response.status_code,
        "title": title and title.group(1),
        "explanation": explanation and explanation.group(1),
        "links": links,
        "header": "kefu 售后" in html,
    }


def client_for(user, language: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("language", "title", "explanation"),
    [
        ("zh-hans", "你无权打开此页面", "请向主管或管理员申请权限"),
        ("en", "You may not open this page", "ask a supervisor or an administrator"),
    ],
)
def test_the_dashboard_refuses_an_agent_with_a_page_in_their_language(language, title, explanation) -> None:
    agent = desk_user("operations", username="ops-ann")

    shown = page(client_for(agent, language).get(reverse("dashboard:index")))

    assert shown["status"] == 403
    assert shown["title"] == title
    assert explanation in shown["explanation"]
    assert shown["header"]  # the admin's frame, with the site's name
    assert shown["links"] == {
        "error-link-desk": reverse("admin:index"),
        "error-link-tickets": reverse("admin:tickets_ticket_changelist"),
    }


@pytest.mark.parametrize(("language", "title"), [("zh-hans", "此页面不存在"), ("en", "This page does not exist")])
def test_a_missing_admin_page_says_so_in_the_users_language(language, title) -> None:
    supervisor = desk_user("supervisors", username="sup-sue")

    for url in ("/admin/no-such-page/", "/admin/tickets/no-such-list/"):
        shown = page(client_for(supervisor, language).get(url, follow=True))
        assert shown["status"] == 404, url
        assert shown["title"] == title
        # A supervisor may open the dashboard: the page offers it.
        assert set(shown["links"]) == {"error-link-desk", "error-link-tickets", "error-link-dashboard"}


def test_a_visitor_not_logged_in_is_offered_the_login_page() -> None:
    shown = page(Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get("/no-such-page/"))

    assert shown["status"] == 404
    assert shown["title"] == "此页面不存在"
    assert shown["links"] == {"error-link-login": reverse("admin:login") + "?next=/no-such-page/"}


def test_a_server_error_page_needs_nothing_but_a_template(rf) -> None:
    from desk.errors import server_error

    with translation_override("zh-hans"):
        response = server_error(rf.get("/admin/"))

    assert response.status_code == 500
    assert "出了点问题" in response.content.decode()


def translation_override(language: str):
    from django.utils import translation

    return translation.override(language)


def test_a_refusal_takes_a_bounded_number_of_queries(django_assert_max_num_queries) -> None:
    client = client_for(desk_user("operations", username="ops-bob"), "zh-hans")

    # session, user, the dashboard's check of the user's departments and groups (then the refusal), the user's
    # permissions (the admin's header), the page's own check whether to offer the dashboard: nothing per app.
    with django_assert_max_num_queries(8):
        assert client.get(reverse("dashboard:index")).status_code == 403
