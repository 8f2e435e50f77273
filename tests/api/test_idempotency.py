"""Idempotency-Key on creating and transitioning POSTs (api/idempotency.py).

A retry with the same key returns the first answer (``Idempotent-Replayed: true``); the same key with a
different body is 422; a retry while the first is still running is 409 after a short wait; keys are per
client; a key expires after ``KEFU_IDEMPOTENCY_TTL_HOURS``; a server error forgets the key. The concurrent
case (20 requests at once) is in test_concurrency.py.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from api.models import IdempotencyRecord, IdempotencyState
from tests.api.conftest import assert_error, staff, url
from tests.factories.tickets import ticket_reload
from tickets.models import EventType, ReturnTicket, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

KEY = "7f1c2d9e-return-1"


def open_return(shop, order, *, key: str = KEY, quantity: int = 1, raw: bytes | None = None):
    body = (
        raw
        or json.dumps(
            {
                "order_number": order.number,
                "lines": [{"sku": "SKU-A", "quantity": quantity}],
                "reason": "quality_problem",
            }
        ).encode()
    )
    return shop.client.post(url("return-open"), body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_retry_returns_the_first_answer_and_creates_nothing_more(shop_a):
    order = shop_a.order()
    first = open_return(shop_a, order)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    retry = open_return(shop_a, order)
    assert retry.status_code == 201 and retry["Idempotent-Replayed"] == "true"
    assert retry.content == first.content  # byte for byte (PostgreSQL's jsonb would reorder the keys)
    assert ReturnTicket.objects.count() == 1
    # Without a key, the same body is a new request (a second item of the line is still returnable).
    plain = shop_a.client.post(
        url("return-open"),
        {"order_number": order.number, "lines": [{"sku": "SKU-A", "quantity": 1}], "reason": "quality_problem"},
        format="json",
    )
    assert plain.status_code == 201 and ReturnTicket.objects.count() == 2


def test_the_same_key_with_a_different_body_is_422(shop_a):
    order = shop_a.order()
    assert open_return(shop_a, order).status_code == 201
    assert_error(open_return(shop_a, order, quantity=2), 422, "idempotency_key_reused", "Idempotency-Key")
    # Another endpoint with the same key is a different request too.
    path = url("complaint-open")
    response = shop_a.client.post(
        path,
        {"order_number": order.number, "category": "delivery", "description": "慢"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=KEY,
    )
    assert_error(response, 422, "idempotency_key_reused", "Idempotency-Key")
    assert Ticket.objects.count() == 1


def fingerprint(path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([b"POST", path.encode(), body])).hexdigest()


def test_a_retry_while_the_first_is_running_is_409_then_replays_once_it_finished(shop_a, settings):
    settings.KEFU_IDEMPOTENCY_WAIT_SECONDS = 0.2
    order = shop_a.order()
    body = json.dumps(
        {"order_number": order.number, "lines": [{"sku": "SKU-A", "quantity": 1}], "reason": "quality_problem"}
    ).encode()
    record = IdempotencyRecord.objects.create(
        client=f"key:{shop_a.key.pk}",
        key=KEY,
        fingerprint=fingerprint(url("return-open"), body),
        expires_at=timezone.now() + timedelta(hours=24),
    )
    assert_error(open_return(shop_a, order, raw=body), 409, "idempotency_request_in_progress")
    assert not Ticket.objects.exists()
    # The first request finishes: the retry gets its answer.
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        state=IdempotencyState.COMPLETED, response_status=201, response_body={"number": "RT-FIRST"}
    )
    replay = open_return(shop_a, order, raw=body)
    assert (replay.status_code, replay.json(), replay["Idempotent-Replayed"]) == (201, {"number": "RT-FIRST"}, "true")
    assert not Ticket.objects.exists()


def test_an_abandoned_in_progress_key_is_taken_over(shop_a, settings):
    """A worker that died mid-request leaves an in-progress record; after the stale time the key runs again."""
    settings.KEFU_IDEMPOTENCY_WAIT_SECONDS = 0.2
    order = shop_a.order()
    body = json.dumps(
        {"order_number": order.number, "lines": [{"sku": "SKU-A", "quantity": 1}], "reason": "quality_problem"}
    ).encode()
    IdempotencyRecord.objects.create(
        client=f"key:{shop_a.key.pk}",
        key=KEY,
        fingerprint=fingerprint(url("return-open"), body),
        created_at=timezone.now() - timedelta(seconds=settings.KEFU_IDEMPOTENCY_STALE_SECONDS + 1),
        expires_at=timezone.now() + timedelta(hours=24),
    )
    assert open_return(shop_a, order, raw=body).status_code == 201
    assert IdempotencyRecord.objects.get(key=KEY).state == IdempotencyState.COMPLETED


def test_keys_are_scoped_per_client(shop_a, shop_b):
    assert open_return(shop_a, shop_a.order()).status_code == 201
    other = open_return(shop_b, shop_b.order())
    assert other.status_code == 201 and "Idempotent-Replayed" not in other
    assert Ticket.objects.filter(shop=shop_b.shop).count() == 1
    # Two keys of the same shop are two clients as well.
    from api.models import ApiKey
    from tests.api.conftest import storefront_client

    _, raw = ApiKey.issue(shop=shop_a.shop, name="second backend")
    shop_a.client = storefront_client(raw)
    second = open_return(shop_a, shop_a.order())
    assert second.status_code == 201 and "Idempotent-Replayed" not in second
    assert Ticket.objects.filter(shop=shop_a.shop).count() == 2
    # And staff users have their own.
    ticket = shop_a.ticket("return", "requested")
    ops = staff("operations")
    path = url("staff-ticket-transition", number=ticket.number, transition="approve")
    approved = ops.client.post(path, {}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    assert approved.status_code == 200 and "Idempotent-Replayed" not in approved


def test_an_expired_key_runs_again(shop_a, settings):
    order = shop_a.order()
    first = open_return(shop_a, order)
    with time_machine.travel(timezone.now() + timedelta(hours=settings.KEFU_IDEMPOTENCY_TTL_HOURS - 1)):
        assert open_return(shop_a, order)["Idempotent-Replayed"] == "true"
    with time_machine.travel(timezone.now() + timedelta(hours=settings.KEFU_IDEMPOTENCY_TTL_HOURS, minutes=1)):
        again = open_return(shop_a, order)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert again.json()["number"] != first.json()["number"]
    assert ReturnTicket.objects.count() == 2


def test_a_transition_retried_runs_once_and_a_refusal_is_replayed(shop_a):
    ticket = shop_a.ticket("return", "requested")
    ops = staff("operations")
    approve = url("staff-ticket-transition", number=ticket.number, transition="approve")
    first = ops.client.post(approve, {}, format="json", HTTP_IDEMPOTENCY_KEY="approve-1")
    retry = ops.client.post(approve, {}, format="json", HTTP_IDEMPOTENCY_KEY="approve-1")
    assert first.status_code == retry.status_code == 200 and first.json() == retry.json()
    assert ticket_reload(ticket).version == ticket.version + 1
    assert TicketEvent.objects.filter(ticket_id=ticket.pk, event_type=EventType.TRANSITION).count() == 1


def test_a_refusal_is_replayed_even_when_the_request_would_now_succeed(shop_a):
    ticket = shop_a.ticket("return", "requested")
    modify = url("ticket-action", number=ticket.number, action="modify")
    refused = shop_a.client.post(modify, {"description": "改"}, format="json", HTTP_IDEMPOTENCY_KEY="m-1")
    assert_error(refused, 409, "transition_not_allowed")
    reject = url("staff-ticket-transition", number=ticket.number, transition="reject")
    assert staff("operations").client.post(reject, {"reason": "no"}, format="json").status_code == 200
    replay = shop_a.client.post(modify, {"description": "改"}, format="json", HTTP_IDEMPOTENCY_KEY="m-1")
    assert (replay.status_code, replay.json(), replay["Idempotent-Replayed"]) == (409, refused.json(), "true")
    assert ticket_reload(ticket).state == "rejected"
    fresh = shop_a.client.post(modify, {"description": "改"}, format="json", HTTP_IDEMPOTENCY_KEY="m-2")
    assert fresh.status_code == 200 and fresh.json()["state"] == "requested"


def test_a_server_error_forgets_the_key(shop_a, monkeypatch):
    from api.views import storefront

    order = shop_a.order()
    real = storefront.services.return_open
    calls = []

    def fails_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(storefront.services, "return_open", fails_once)
    shop_a.client.raise_request_exception = False
    assert open_return(shop_a, order).status_code == 500
    assert not IdempotencyRecord.objects.filter(key=KEY).exists()
    retry = open_return(shop_a, order)
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry
    assert ReturnTicket.objects.count() == 1


def test_an_overlong_key_is_400(shop_a):
    response = open_return(shop_a, shop_a.order(), key="k" * 256)
    assert_error(response, 400, "invalid_idempotency_key", "Idempotency-Key")
    assert not Ticket.objects.exists()
