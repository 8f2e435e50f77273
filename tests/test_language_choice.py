"""The admin's language follows the browser until the user picks one in the header."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


def test_a_user_chooses_english_in_a_chinese_browser_and_keeps_it(client) -> None:
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-boss-123")
    client.force_login(user)

    page = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert 'name="language"' in page.content.decode()
    assert "注销" in page.content.decode()  # "Log out" in Chinese: the browser decides

    chosen = client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert chosen.status_code == 302

    page = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "Log out" in page.content.decode()  # the choice wins over the browser from now on
