"""One JSON error shape everywhere ({code, message, field, errors}), 429 after the throttle rate, and messages
in the language of Accept-Language."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from api.throttling import AnonymousRateThrottle, ApiKeyRateThrottle, StaffUserRateThrottle
from tests.api.conftest import assert_error, staff, storefront_client, url

pytestmark = pytest.mark.django_db


def test_every_kind_of_error_has_the_one_shape(shop_a, shop_b, settings):
    settings.KEFU_EVIDENCE_MAX_IMAGE_BYTES = 10
    ticket = shop_a.ticket("return", "return_in_transit")
    order = ticket.order
    sf = shop_a.client
    detail = url("ticket-detail", number=ticket.number)
    ops = staff("operations")
    checks = [
        # (response, status, code, field)
        (sf.post(url("return-open"), {"order_number": order.number}, format="json"), 400, "invalid", "lines"),
        (sf.post(url("return-open"), b"{not json", content_type="application/json"), 400, "parse_error", None),
        (APIClient().get(detail), 401, "not_authenticated", None),
        (storefront_client("kefu_abc_def").get(detail), 401, "authentication_failed", None),
        (ops.client.get(detail), 403, "permission_denied", None),
        (sf.post(url("ticket-action", number=ticket.number, action="receive")), 403, "not_permitted", None),
        (shop_b.client.get(detail), 404, "not_found", None),
        (sf.delete(detail), 405, "method_not_allowed", None),
        (sf.get(detail, HTTP_ACCEPT="text/html"), 406, "not_acceptable", None),
        (sf.post(url("ticket-action", number=ticket.number, action="cancel")), 409, "transition_not_allowed", None),
        (
            sf.post(url("ticket-evidence", number=ticket.number), {"file": _png(20)}, format="multipart"),
            413,
            "file_too_large",
            "file",
        ),
        (
            sf.post(url("ticket-comment", number=ticket.number), "body=x", content_type="text/plain"),
            415,
            "unsupported_media_type",
            None,
        ),
    ]
    for response, status, code, field in checks:
        assert_error(response, status, code, field)
    key = {"HTTP_IDEMPOTENCY_KEY": "k-1"}
    sf.post(url("ticket-comment", number=ticket.number), {"body": "a"}, format="json", **key)
    reused = sf.post(url("ticket-comment", number=ticket.number), {"body": "b"}, format="json", **key)
    assert_error(reused, 422, "idempotency_key_reused", "Idempotency-Key")


def _png(size: int):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * size, "image/png")


@pytest.fixture
def small_rates(monkeypatch, settings):
    """Three requests a minute per key and per user. DRF reads the rates into the throttle classes when they
    are defined, so the classes' copy is replaced along with the setting."""
    rates = {"api_key": "3/min", "staff_user": "3/min", "anonymous": "3/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    for throttle in (ApiKeyRateThrottle, StaffUserRateThrottle, AnonymousRateThrottle):
        monkeypatch.setattr(throttle, "THROTTLE_RATES", rates)
    return rates


def test_a_key_past_its_rate_gets_429_and_other_keys_do_not(shop_a, shop_b, small_rates):
    path = url("ticket-list")
    assert [shop_a.client.get(path).status_code for _ in range(3)] == [200, 200, 200]
    response = shop_a.client.get(path)
    body = assert_error(response, 429, "throttled", None)
    assert int(response["Retry-After"]) > 0
    assert body["message"]
    # Writes count too, and nothing is written when throttled.
    ticket = shop_a.ticket("complaint", "open")
    assert_error(
        shop_a.client.post(url("ticket-comment", number=ticket.number), {"body": "x"}, format="json"), 429, "throttled"
    )
    assert shop_b.client.get(path).status_code == 200  # per key


def test_a_staff_user_past_the_rate_gets_429(shop_a, small_rates):
    first, second = staff("operations"), staff("operations")
    for _ in range(3):
        assert first.client.get(url("staff-queue")).status_code == 200
    assert_error(first.client.get(url("staff-queue")), 429, "throttled")
    assert second.client.get(url("staff-queue")).status_code == 200  # per user


def test_throttle_counts_live_in_the_shared_cache(shop_a, small_rates):
    from django.core.cache import cache

    for _ in range(3):
        shop_a.client.get(url("ticket-list"))
    assert shop_a.client.get(url("ticket-list")).status_code == 429
    cache.clear()  # another process sees the same cache: clearing it is what lets the key in again
    assert shop_a.client.get(url("ticket-list")).status_code == 200


@pytest.mark.parametrize(
    ("language", "required", "not_found"),
    [
        ("en", "This field is required.", "Not found."),
        ("en-US,en;q=0.9", "This field is required.", "Not found."),
        ("zh-hans", "该字段是必填项。", "未找到。"),
        ("zh-CN,zh;q=0.9", "该字段是必填项。", "未找到。"),
    ],
)
def test_messages_follow_accept_language(shop_a, language, required, not_found):
    response = shop_a.client.post(
        url("complaint-open"),
        {"category": "delivery", "description": "x"},
        format="json",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    body = assert_error(response, 400, "invalid", "order_number")
    assert body["errors"] == [{"field": "order_number", "code": "required", "message": required}]
    assert body["message"] == f"order_number: {required}"
    missing = shop_a.client.get(url("ticket-detail", number="RT0"), HTTP_ACCEPT_LANGUAGE=language)
    assert assert_error(missing, 404, "not_found")["message"] == not_found


def test_without_accept_language_messages_are_chinese(shop_a):
    response = APIClient().get(url("ticket-list"))
    assert json.loads(response.content)["message"] == "身份认证信息未提供。"


def test_every_invalid_field_is_listed(shop_a):
    response = shop_a.client.post(
        url("return-open"),
        {"lines": [{"sku": "A", "quantity": 0}, {"quantity": 1}]},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    body = assert_error(response, 400, "invalid")
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"order_number", "reason", "lines[0].quantity", "lines[1].sku"}
    assert body["field"] in fields
