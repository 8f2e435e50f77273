"""The admin's login is locked out after repeated failures (django-axes, configured in kefu/settings/web.py): per client
address and per username, with the same trusted-proxy address rule, limit and window as the API's failed
credentials; the lockout page is a 429 in the user's language."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories.tickets import user_create

pytestmark = pytest.mark.django_db

LIMIT = 3
LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture(autouse=True)
def _small_limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT


@pytest.fixture
def alice():
    user = user_create("alice", is_staff=True)
    user.set_password("correct horse battery")
    user.save()
    return user


def login(username: str, password: str, address: str, *, language: str = "en", forwarded: str = ""):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    return Client(REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE=language, **extra).post(
        LOGIN, {"username": username, "password": password}
    )


def test_a_failed_login_shows_the_form_again(alice):
    response = login("alice", "wrong", "203.0.113.1")
    assert response.status_code == 200
    assert login("alice", "correct horse battery", "203.0.113.1").status_code == 302  # logged in


def test_repeated_failures_lock_the_address_and_the_username_out(alice):
    user_create("bob", is_staff=True).set_password("bob's password")
    for _ in range(LIMIT - 1):
        assert login("alice", "wrong", "203.0.113.2").status_code == 200
    assert login("alice", "wrong", "203.0.113.2").status_code == 429  # the LIMIT-th failure locks out
    locked = login("alice", "correct horse battery", "203.0.113.2")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    # The username, from anywhere else, and the address, for any other username, are locked too.
    assert login("alice", "correct horse battery", "198.51.100.9").status_code == 429
    assert login("bob", "bob's password", "203.0.113.2").status_code == 429
    # Another user elsewhere is not.
    assert login("carol", "nope", "198.51.100.10").status_code == 200


def test_the_lockout_page_is_in_the_users_language(alice):
    for _ in range(LIMIT):
        login("alice", "wrong", "203.0.113.3")
    page = login("alice", "wrong", "203.0.113.3", language="zh-hans").content.decode()
    assert "登录失败次数过多" in page and "分钟后重试" in page


def test_behind_a_proxy_the_address_is_the_one_it_saw_not_the_clients_own(alice, settings):
    settings.KEFU_TRUSTED_PROXY_COUNT = 1
    for i in range(LIMIT):
        # Each attempt claims a new address on the left; nginx appends the one it saw.
        login(f"user{i}", "wrong", "10.0.0.1", forwarded=f"7.7.7.{i}, 203.0.113.4")
    assert login("dave", "wrong", "10.0.0.1", forwarded="7.7.7.99, 203.0.113.4").status_code == 429
    assert login("erin", "wrong", "10.0.0.1", forwarded="203.0.113.5").status_code == 200
