"""Paths under /api/v1/ that are no endpoint answer in the API's one error shape (JSON 404), whatever the method
and credentials, and a path missing its trailing slash is told which path exists."""

from __future__ import annotations

import pytest

from tests.api.conftest import ERROR_KEYS

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
@pytest.mark.parametrize("authenticated", [False, True])
def test_an_unknown_path_is_a_json_404(client, shop_a, method, authenticated):
    http = shop_a.client if authenticated else client
    response = getattr(http, method)("/api/v1/no-such-thing/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == "not_found"
    assert body["message"] == "No endpoint /api/v1/no-such-thing/."


def test_a_path_without_its_trailing_slash_names_the_one_that_exists(shop_a):
    response = shop_a.client.post("/api/v1/tickets/returns", {}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404  # not a redirect: a client would lose the body
    assert response.json()["message"] == (
        "No endpoint /api/v1/tickets/returns; kefu's paths end with a slash: /api/v1/tickets/returns/"
    )
    # Without the slash and without an endpoint either: no hint.
    assert shop_a.client.get("/api/v1/nope", HTTP_ACCEPT_LANGUAGE="en").json()["message"] == (
        "No endpoint /api/v1/nope."
    )


def test_the_message_follows_accept_language(client):
    body = client.get("/api/v1/no-such-thing/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert body["code"] == "not_found" and "/api/v1/no-such-thing/" in body["message"]
    assert "No endpoint" not in body["message"]
