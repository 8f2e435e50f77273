"""Under /api/ every answer is JSON in the one error shape and the caller's language: a body nested too deep (400,
a RecursionError and an HTML 500 before), a path outside /api/v1/ (404), a method an endpoint does not take
(405), a server error (500), the database unreachable (503 with Retry-After)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.urls import path

from api.parsers import MAX_DEPTH
from tests.api.conftest import assert_error, url
from tests.markers import requires_postgres

pytestmark = pytest.mark.django_db


def nested(depth: int) -> bytes:
    return b'{"description": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000, 100_000])
def test_a_body_nested_too_deep_is_a_json_400(shop_a, depth):
    response = shop_a.client.post(
        url("complaint-open"), nested(depth), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    body = assert_error(response, 400, "parse_error")
    assert f"nested more than {MAX_DEPTH} levels" in body["message"]


def test_the_nesting_refusal_is_in_the_callers_language(shop_a):
    response = shop_a.client.post(
        url("complaint-open"), nested(50_000), content_type="application/json", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    body = assert_error(response, 400, "parse_error")
    assert "层" in body["message"], body


def test_ordinary_nesting_still_parses(shop_a):
    order = shop_a.order()
    response = shop_a.client.post(
        url("return-open"),
        {"order_number": order.number, "lines": [{"sku": "SKU-A", "quantity": 1}], "reason": "quality_problem"},
        format="json",
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(("language", "message"), [("en", "Not found."), ("zh-hans", "未找到。")])
def test_a_path_under_api_outside_v1_is_a_json_404(client, language, message):
    response = client.get("/api/v2/tickets/", HTTP_ACCEPT_LANGUAGE=language)
    assert assert_error(response, 404, "not_found")["message"] == message


@pytest.mark.parametrize(
    ("language", "message"), [("en", "This method is not allowed here."), ("zh-hans", "此处不允许该请求方法。")]
)
def test_a_method_the_schema_does_not_take_is_a_json_405(client, language, message):
    response = client.post("/api/schema/", HTTP_ACCEPT_LANGUAGE=language)
    assert assert_error(response, 405, "method_not_allowed")["message"] == message
    assert "GET" in response["Allow"]


def test_outside_api_pages_stay_html(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def _server_error(request):
    raise RuntimeError("a bug")


urlpatterns = [path("api/v1/broken/", _server_error)]


@pytest.mark.parametrize(
    ("language", "message"),
    [("en", "Internal server error; it has been logged."), ("zh-hans", "服务器内部错误，已记录。")],
)
@pytest.mark.urls(__name__)
def test_a_server_error_under_api_is_a_json_500(settings, language, message):
    settings.DEBUG = False
    response = Client(raise_request_exception=False).get("/api/v1/broken/", HTTP_ACCEPT_LANGUAGE=language)
    assert assert_error(response, 500, "server_error")["message"] == message


@requires_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_database_unreachable_is_a_json_503_with_retry_after(shop_a, settings, language):
    """The database stops answering (here: its port is closed): the request that needs it is told to come back
    later, in JSON, never an HTML 500."""
    settings.KEFU_UNAVAILABLE_RETRY_AFTER_SECONDS = 7
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = 1  # nothing listens there
    try:
        shop_a.client.raise_request_exception = False
        response = shop_a.client.get(url("ticket-list"), HTTP_ACCEPT_LANGUAGE=language)
    finally:
        connection.close()
        connection.settings_dict.update(saved)
    body = assert_error(response, 503, "unavailable")
    assert response["Retry-After"] == "7"
    expected = {"en": "The service is temporarily unavailable; retry later.", "zh-hans": "服务暂时不可用，请稍后重试。"}
    assert body["message"] == expected[language]
