"""The isolation matrix: every endpoint and method of api/urls.py, tried by a caller who must not see the object.

- a second shop's API key gets, on shop A's objects, exactly the answer it gets for an object that does not
  exist (a 404 that says nothing), and its lists hold none of shop A's rows;
- a staff user of another department gets the same on tickets outside their department's queue (a
  different department's integration endpoint is a 403);
- storefront keys on staff endpoints and staff users on storefront endpoints are 403; no credentials and a
  revoked key are 401;
- nothing is written by any of those refusals, and the rightful caller does reach the object (so each 404
  is the scope at work, not a broken URL).

``CASES`` has one entry per (URL name, method); a new endpoint without one fails
``test_every_endpoint_and_method_has_a_case``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from api import urls as api_urls
from orders.models import Order, Shipment, TrackingEvent
from tests.api.conftest import Staff, Storefront, assert_error, staff, url
from tests.factories.orders import ShipmentFactory
from tests.incidents.affected import incident_linking
from tickets.actors import Actor
from tickets.models import Attachment, Ticket, TicketEvent
from tickets.services.timeline import ticket_evidence_attach

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@dataclass(frozen=True)
class Targets:
    """What a request points at: shop A's order, ticket, outbound tracking number, and a ticket in the
    warehouse's queue (``queued``), or numbers that exist nowhere."""

    order: str
    ticket: str
    queued: str
    tracking: str
    evidence: str = "999999"  # a piece of evidence on ``ticket``
    queued_evidence: str = "999998"  # an internal one on ``queued``


MISSING = Targets(order="NO-MISSING-1", ticket="RT19990101999999", queued="RT19990101999998", tracking="SF-NONE")


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    audience: str  # "storefront" or "staff"
    kwargs: Callable[[Targets], dict[str, str]]
    body: Callable[[Targets], Any] = lambda t: {}
    multipart: bool = False
    # What the outsider gets: "not_found" (same answer as for a missing object), "list" (their list holds
    # none of it), "own_order" (an upsert of a number is the caller's own order), "forbidden" (403).
    outsider: str = "not_found"


def order_payload(buyer: str) -> dict[str, Any]:
    return {
        "status": "paid",
        "paid_at": "2026-01-05T10:00:00+08:00",
        "buyer": {"id": buyer, "name": "外人"},
        "lines": [{"sku": "B-SKU", "name": "B 的商品", "quantity": 1, "unit_price": "9.90", "paid_amount": "9.90"}],
    }


def lines(t: Targets) -> list[dict[str, Any]]:
    return [{"sku": "SKU-A", "quantity": 1}]


CASES = [
    # storefront
    Case("order", "GET", "storefront", lambda t: {"number": t.order}),
    Case(
        "order",
        "PUT",
        "storefront",
        lambda t: {"number": t.order},
        lambda t: order_payload("b-9"),
        outsider="own_order",
    ),
    Case("ticket-list", "GET", "storefront", lambda t: {}, outsider="list"),
    Case(
        "return-open",
        "POST",
        "storefront",
        lambda t: {},
        lambda t: {"order_number": t.order, "lines": lines(t), "reason": "quality_problem"},
    ),
    Case(
        "exchange-open",
        "POST",
        "storefront",
        lambda t: {},
        lambda t: {"order_number": t.order, "lines": lines(t), "reason": "quality_problem", "replacement_sku": "X"},
    ),
    Case(
        "complaint-open",
        "POST",
        "storefront",
        lambda t: {},
        lambda t: {"order_number": t.order, "category": "delivery", "description": "太慢"},
    ),
    Case(
        "logistics-open",
        "POST",
        "storefront",
        lambda t: {},
        lambda t: {"order_number": t.order, "exception_type": "lost", "tracking_number": t.tracking},
    ),
    Case("ticket-detail", "GET", "storefront", lambda t: {"number": t.ticket}),
    Case("ticket-action", "POST", "storefront", lambda t: {"number": t.ticket, "action": "cancel"}),
    Case("ticket-comment", "POST", "storefront", lambda t: {"number": t.ticket}, lambda t: {"body": "在吗"}),
    Case("ticket-incident", "GET", "storefront", lambda t: {"number": t.ticket}),
    Case("ticket-incident", "POST", "storefront", lambda t: {"number": t.ticket}, lambda t: {"answer": "refund"}),
    Case("ticket-postage", "POST", "storefront", lambda t: {"number": t.ticket}, lambda t: {"amount": "12.00"}),
    Case(
        "ticket-evidence",
        "POST",
        "storefront",
        lambda t: {"number": t.ticket},
        lambda t: {"file": SimpleUploadedFile("a.png", PNG, "image/png")},
        multipart=True,
    ),
    Case("ticket-evidence", "GET", "storefront", lambda t: {"number": t.ticket}),
    Case("ticket-evidence-file", "GET", "storefront", lambda t: {"number": t.ticket, "attachment_id": t.evidence}),
    # staff (the outsider is an operations user; the ticket waits on the warehouse)
    Case("staff-queue", "GET", "staff", lambda t: {}, outsider="list"),
    Case("staff-ticket-detail", "GET", "staff", lambda t: {"number": t.queued}),
    Case("staff-ticket-claim", "POST", "staff", lambda t: {"number": t.queued}),
    Case("staff-ticket-assign", "POST", "staff", lambda t: {"number": t.queued}, lambda t: {"assignee": None}),
    Case("staff-ticket-transition", "POST", "staff", lambda t: {"number": t.queued, "transition": "receive"}),
    Case("staff-ticket-comment", "POST", "staff", lambda t: {"number": t.queued}, lambda t: {"body": "内部备注"}),
    Case(
        "tracking-event",
        "POST",
        "staff",
        lambda t: {},
        lambda t: {
            "carrier": "SF",
            "tracking_number": t.tracking,
            "event_id": "E-1",
            "occurred_at": "2026-01-06T10:00:00+08:00",
            "status": "in_transit",
        },
        outsider="forbidden",
    ),
    Case("parcel-received", "POST", "staff", lambda t: {"number": t.queued}),
    Case("staff-ticket-evidence", "GET", "staff", lambda t: {"number": t.queued}),
    Case(
        "staff-ticket-evidence-file",
        "GET",
        "staff",
        lambda t: {"number": t.queued, "attachment_id": t.queued_evidence},
    ),
]
IDS = [f"{c.method} {c.name}" for c in CASES]


def declared_endpoints() -> set[tuple[str, str]]:
    found = set()
    for pattern in api_urls.urlpatterns:
        if pattern.name == "unknown":  # the catch-all JSON 404, no endpoint (tests/api/test_unknown_paths.py)
            continue
        view = pattern.callback.view_class
        for method in view.http_method_names:
            if method not in ("options", "head", "trace") and hasattr(view, method):
                found.add((pattern.name, method.upper()))
    return found


def test_every_endpoint_and_method_has_a_case():
    assert {(c.name, c.method) for c in CASES} == declared_endpoints()


def send(client: APIClient, case: Case, t: Targets, **extra: Any):
    path = url(case.name, **case.kwargs(t))
    if case.method == "GET":
        return client.get(path, **extra)
    if case.method == "POST":
        extra.setdefault("HTTP_IDEMPOTENCY_KEY", uuid.uuid4().hex)
    body = case.body(t)
    fmt = "multipart" if case.multipart else "json"
    return getattr(client, case.method.lower())(path, body, format=fmt, **extra)


@dataclass
class World:
    a: Storefront
    b: Storefront
    outsider: Staff  # operations
    supervisor: Staff
    targets: Targets
    ticket: Ticket
    queued: Ticket


@pytest.fixture
def world(shop_a, shop_b) -> World:
    order = shop_a.order()
    shipment = ShipmentFactory(order=order, carrier="SF")
    ticket = shop_a.ticket("return", "requested", order=order)
    queued = shop_a.ticket("return", "return_in_transit")
    incident_linking([ticket])  # the ticket is an incident's (its answer endpoint)
    # Shop B has rows of its own, so its lists are not empty by accident.
    shop_b.ticket("complaint", "open")
    evidence = [
        ticket_evidence_attach(
            ticket=t,
            actor=Actor.for_buyer(t.buyer),
            file=ContentFile(PNG, name="a.png"),
            original_name="a.png",
            content_type="image/png",
            public=t is ticket,
        )
        for t in (ticket, queued)
    ]
    targets = Targets(
        order=order.number,
        ticket=ticket.number,
        queued=queued.number,
        tracking=shipment.tracking_number,
        evidence=str(evidence[0].pk),
        queued_evidence=str(evidence[1].pk),
    )
    return World(shop_a, shop_b, staff("operations"), staff("supervisors"), targets, ticket, queued)


def snapshot(w: World) -> tuple:
    rows = tuple(m.objects.count() for m in (Ticket, TicketEvent, Attachment, Order, Shipment, TrackingEvent))
    tickets = tuple(
        Ticket.objects.filter(pk__in=[w.ticket.pk, w.queued.pk])
        .order_by("pk")
        .values_list("state", "version", "assignee_id", "updated_at")
    )
    return rows, tickets


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_an_outsider_learns_nothing_and_changes_nothing(world, case):
    """Shop B's key on shop A's objects, an operations user on the warehouse's ticket."""
    w = world
    outsider = w.b.client if case.audience == "storefront" else w.outsider.client
    before = snapshot(w)
    response = send(outsider, case, w.targets)
    # What the outsider must not learn: for shop B anything of shop A's, for operations the warehouse's ticket.
    if case.audience == "storefront":
        secrets = [w.targets.ticket, w.targets.queued, w.targets.tracking, w.ticket.buyer.external_id]
    else:
        secrets = [w.targets.queued, w.targets.tracking]
    if case.outsider == "not_found":
        assert_error(response, 404, "not_found", None)
        # Byte for byte what a number that exists nowhere gets.
        assert response.content == send(outsider, case, MISSING).content
    elif case.outsider == "forbidden":
        assert_error(response, 403, "not_permitted")
        assert response.content == send(outsider, case, MISSING).content
    elif case.outsider == "list":
        assert response.status_code == 200
        assert response.json()["results"], "the outsider's own rows are listed"
    elif case.outsider == "own_order":
        assert response.status_code == 201, response.content
        assert response.json()["buyer_id"] == "b-9"
        assert [line["sku"] for line in response.json()["lines"]] == ["B-SKU"]
    text = response.content.decode()
    assert not [secret for secret in secrets if secret in text]
    if case.outsider != "own_order":
        assert snapshot(w) == before
    else:
        assert Order.objects.get(shop=w.a.shop, number=w.targets.order).buyer_id == w.ticket.buyer_id
        assert list(Order.objects.get(shop=w.a.shop, number=w.targets.order).lines.values_list("sku", flat=True)) == [
            "SKU-A"
        ]

    # The rightful caller reaches the same object through the same request.
    insider = w.a.client if case.audience == "storefront" else w.supervisor.client
    response = send(insider, case, w.targets)
    assert response.status_code < 500 and response.status_code not in (401, 403, 404), response.content
    if case.outsider == "list":
        assert w.ticket.number in response.content.decode() or w.queued.number in response.content.decode()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_other_audience_is_forbidden(world, case):
    """A storefront key on a staff endpoint, a staff user on a storefront endpoint: 403, nothing written."""
    wrong = world.outsider.client if case.audience == "storefront" else world.a.client
    before = snapshot(world)
    body = assert_error(send(wrong, case, world.targets), 403, "permission_denied", None)
    assert world.targets.ticket not in body["message"]
    assert snapshot(world) == before


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_no_credentials_is_401(world, case):
    response = send(APIClient(), case, world.targets)
    assert_error(response, 401, "not_authenticated", None)
    assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_revoked_key_is_401(world, case):
    from django.utils import timezone

    world.a.key.revoked_at = timezone.now()
    world.a.key.save(update_fields=["revoked_at"])
    before = snapshot(world)
    assert_error(send(world.a.client, case, world.targets), 401, "authentication_failed", None)
    assert snapshot(world) == before


@pytest.mark.parametrize("header", ["Api-Key kefu_nope_nope", "Api-Key not-a-key", "Token 0123456789abcdef"])
def test_a_wrong_key_or_token_is_401(world, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_error(client.get(url("ticket-list")), 401, "authentication_failed", None)
