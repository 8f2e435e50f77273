"""Refused actions and transitions through HTTP, each with its status and code, and nothing written.

Wrong state is 409 ``transition_not_allowed``; a role that does not own the transition is 403
``not_permitted``; a missing or invalid field is 400 naming it; a ticket changed by someone else between
reading and writing is 409 ``ticket_changed``.
"""

from __future__ import annotations

from typing import Any

import pytest

from api import selectors
from orders.models import Shipment
from tests.api.conftest import assert_error, staff, url
from tests.factories.tickets import ticket_reload
from tickets import services
from tickets.actors import Actor
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def post(shop, ticket: Ticket, action: str, who: str, body: dict[str, Any] | None = None):
    if who == "buyer":
        path = url("ticket-action", number=ticket.number, action=action)
        return shop.client.post(path, body or {}, format="json")
    path = url("staff-ticket-transition", number=ticket.number, transition=action)
    return staff(who).client.post(path, body or {}, format="json")


def unchanged(ticket: Ticket) -> None:
    after = ticket_reload(ticket)
    assert (after.state, after.version) == (ticket.state, ticket.version)
    assert TicketEvent.objects.filter(ticket_id=ticket.pk).count() == 1  # only the "created" entry


WRONG_STATE = [
    ("return", "return_in_transit", "cancel", "buyer", {}),
    ("return", "requested", "ship_back", "buyer", {"carrier": "SF", "tracking_number": "SF9"}),
    ("return", "return_in_transit", "pass_inspection", "warehouse", {}),
    ("return", "requested", "uphold_buyer", "supervisors", {}),
    ("exchange", "requested", "confirm_receipt", "buyer", {}),
    ("exchange", "received", "ship_replacement", "warehouse", {"carrier": "SF", "tracking_number": "SF9"}),
    ("complaint", "open", "accept_resolution", "buyer", {}),
    ("complaint", "investigating", "acknowledge", "operations", {}),
    ("logistics", "reported", "confirm", "buyer", {}),
    ("logistics", "reported", "reship", "logistics", {}),
    ("logistics", "investigating", "cancel", "buyer", {}),
]


@pytest.mark.parametrize(("kind", "state", "action", "who", "body"), WRONG_STATE)
def test_wrong_state_is_409(shop_a, kind, state, action, who, body):
    ticket = shop_a.ticket(kind, state)
    response = post(shop_a, ticket, action, who, body)
    body = assert_error(response, 409, "transition_not_allowed")
    assert state in body["message"]
    unchanged(ticket)
    assert not Shipment.objects.filter(tracking_number="SF9").exists()


WRONG_ROLE = [
    ("return", "requested", "approve", {}),
    ("return", "requested", "reject", {"reason": "不想给"}),
    ("exchange", "replacement_pending", "ship_replacement", {"carrier": "SF", "tracking_number": "SF9"}),
    ("complaint", "open", "acknowledge", {}),
    ("complaint", "open", "dismiss", {"reason": "算了"}),
    ("logistics", "reported", "investigate", {}),
    ("logistics", "investigating", "compensate", {"amount": "999.00"}),
]


@pytest.mark.parametrize(("kind", "state", "action", "body"), WRONG_ROLE)
def test_a_buyer_running_a_staff_transition_is_403(shop_a, kind, state, action, body):
    ticket = shop_a.ticket(kind, state)
    assert_error(post(shop_a, ticket, action, "buyer", body), 403, "not_permitted")
    unchanged(ticket)


# (kind, state, action, who, body, field): the field the 400 names.
MISSING = [
    ("return", "requested", "reject", "operations", {}, "reason"),
    ("return", "requested", "reject", "operations", {"reason": "   "}, "reason"),
    ("return", "awaiting_return", "ship_back", "buyer", {"carrier": "SF"}, "tracking_number"),
    ("return", "awaiting_return", "ship_back", "buyer", {"tracking_number": "SF1"}, "carrier"),
    ("return", "received", "pass_inspection_partly", "warehouse", {"reason": "划痕"}, "amount"),
    ("return", "received", "pass_inspection_partly", "warehouse", {"amount": "40.00"}, "reason"),
    ("return", "received", "pass_inspection_partly", "warehouse", {"amount": "0", "reason": "x"}, "amount"),
    ("return", "received", "pass_inspection_partly", "warehouse", {"amount": "abc", "reason": "x"}, "amount"),
    ("return", "received", "fail_inspection", "warehouse", {}, "reason"),
    ("return", "arbitration", "uphold_rejection", "supervisors", {}, "reason"),
    ("return", "rejected", "modify", "buyer", {"requested_amount": "-1"}, "requested_amount"),
    ("exchange", "replacement_pending", "convert_to_refund", "warehouse", {}, "reason"),
    ("exchange", "replacement_pending", "ship_replacement", "warehouse", {}, "carrier"),
    ("complaint", "investigating", "propose_resolution", "operations", {}, "resolution"),
    ("complaint", "resolution_proposed", "reopen", "buyer", {}, "reason"),
    ("complaint", "open", "dismiss", "supervisors", {"reason": ""}, "reason"),
    ("logistics", "investigating", "compensate", "logistics", {}, "amount"),
    ("logistics", "reshipping", "mark_reshipped", "warehouse", {"tracking_number": "SF1"}, "carrier"),
]


@pytest.mark.parametrize(("kind", "state", "action", "who", "body", "field"), MISSING)
def test_a_missing_or_invalid_field_is_400_naming_it(shop_a, kind, state, action, who, body, field):
    ticket = shop_a.ticket(kind, state)
    error = assert_error(post(shop_a, ticket, action, who, body), 400, "invalid", field)
    assert error["errors"] and error["errors"][0]["field"] == field
    unchanged(ticket)


@pytest.mark.parametrize(
    ("body", "code", "field", "status"),
    [
        ({"amount": "100.00", "reason": "x"}, "invalid_amount", "amount", 400),  # not below the requested amount
        ({"amount": "250.00", "reason": "x"}, "invalid_amount", "amount", 400),
    ],
)
def test_domain_refusals_of_an_amount_name_the_field(shop_a, body, code, field, status):
    ticket = shop_a.ticket("return", "received")
    assert_error(post(shop_a, ticket, "pass_inspection_partly", "warehouse", body), status, code, field)
    unchanged(ticket)


def test_a_buyer_cannot_ask_more_than_was_paid_when_modifying(shop_a):
    ticket = shop_a.ticket("return", "rejected")
    response = post(shop_a, ticket, "modify", "buyer", {"requested_amount": "100.01"})
    assert_error(response, 409, "refund_exceeds_paid", "requested_amount")
    unchanged(ticket)


def test_an_unknown_action_is_refused(shop_a):
    ticket = shop_a.ticket("return", "requested")
    assert_error(post(shop_a, ticket, "frobnicate", "buyer"), 409, "transition_not_allowed", "action")
    assert_error(post(shop_a, ticket, "acknowledge", "operations"), 409, "transition_not_allowed", "action")
    unchanged(ticket)


@pytest.mark.parametrize("who", ["buyer", "operations"])
def test_a_ticket_changed_between_read_and_write_is_409(shop_a, monkeypatch, who):
    """Someone else's change lands after the view read the ticket: the stale write is refused."""
    ticket = shop_a.ticket("return", "requested")
    # The storefront reads its tickets with storefront_ticket, staff with ticket_in.
    reader = "storefront_ticket" if who == "buyer" else "ticket_in"
    real = getattr(selectors, reader)

    def read_then_someone_else_writes(*args, **kwargs):
        copy = real(*args, **kwargs)
        current = type(copy).objects.get(pk=copy.pk)
        services.ticket_act(ticket=current, actor=Actor.staff(staff("operations").user), action="reject", reason="先到")
        return copy

    monkeypatch.setattr(selectors, reader, read_then_someone_else_writes)
    action = "cancel" if who == "buyer" else "approve"
    body = assert_error(post(shop_a, ticket, action, who), 409, "ticket_changed")
    assert "请刷新后重试" in body["message"]  # "reload it and try again", in the API's default language (zh-hans)
    after = ticket_reload(ticket)
    assert (after.state, after.version) == ("rejected", ticket.version + 1)  # only the first write happened


def test_refused_shipping_transitions_create_no_shipment(shop_a):
    """A tracking number another order's parcel already has: 409, and neither a shipment nor a transition."""
    ticket = shop_a.ticket("return", "awaiting_return")
    other = shop_a.ticket("return", "awaiting_return")
    assert post(shop_a, other, "ship_back", "buyer", {"carrier": "SF", "tracking_number": "SF-USED"}).status_code == 200
    response = post(shop_a, ticket, "ship_back", "buyer", {"carrier": "SF", "tracking_number": "SF-USED"})
    assert_error(response, 409, "tracking_number_in_use", "tracking_number")
    assert Shipment.objects.filter(tracking_number="SF-USED").count() == 1
    unchanged(ticket)
