"""Every buyer action and every staff transition of every kind, through HTTP.

Buyer actions go to ``POST /api/v1/tickets/<number>/actions/<action>/`` with the shop's key; staff
transitions to ``POST /api/v1/staff/tickets/<number>/transitions/<transition>/`` as a member of the
department whose queue holds the ticket. ``FLOWS`` covers the whole action registry (api.actions.ACTIONS);
``test_every_registered_action_is_run_through_http`` notices an action added without a case.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from api.actions import ACTIONS
from tests.api.conftest import staff, url
from tests.factories.tickets import ticket_reload
from tickets.models import EventType, Refund, ReturnTicket, TicketEvent

pytestmark = pytest.mark.django_db

SHIP = {"carrier": "YTO", "tracking_number": "YT7000000001"}
OFFER = {"offer": "退 60 元，商品不用退回", "offer_amount": "60.00"}
OFFERED = {"offer": "退 60 元，商品不用退回", "offered_amount": Decimal("60.00"), "refund_only": True}
TMALL = {"platform": "taobao"}

# (kind, from state, action, who, body, to state, ticket fields). ``who`` is "buyer" or a department.
FLOWS: list[tuple[str, str, str, str, dict[str, Any], str, dict[str, Any]]] = [
    # return
    ("return", "requested", "approve", "operations", {}, "awaiting_return", {}),
    ("return", "requested", "approve", "operations", {"reason": "仅退款"}, "refund_pending", {"refund_only": True}),
    ("return", "requested", "reject", "operations", {"reason": "已使用"}, "rejected", {}),
    (
        "return",
        "rejected",
        "modify",
        "buyer",
        {"requested_amount": "60.00", "description": "只退一件"},
        "requested",
        {},
    ),
    ("return", "rejected", "escalate", "buyer", {"reason": "不服"}, "arbitration", {}),
    ("return", "rejected", "accept_rejection", "buyer", {}, "closed", {}),
    ("return", "awaiting_return", "ship_back", "buyer", SHIP, "return_in_transit", {}),
    ("return", "awaiting_return", "ship_back", "supervisors", SHIP, "return_in_transit", {}),
    ("return", "return_in_transit", "receive", "warehouse", {}, "received", {}),
    ("return", "received", "pass_inspection", "warehouse", {}, "refund_pending", {}),
    (
        "return",
        "received",
        "pass_inspection_partly",
        "warehouse",
        {"amount": "40.00", "reason": "有划痕"},
        "refund_pending",
        {},
    ),
    ("return", "received", "fail_inspection", "warehouse", {"reason": "人为损坏"}, "rejected", {}),
    ("return", "arbitration", "uphold_buyer", "supervisors", {}, "awaiting_return", {}),
    ("return", "arbitration", "uphold_rejection", "supervisors", {"reason": "证据不足"}, "closed", {}),
    ("return", "requested", "cancel", "buyer", {}, "cancelled", {}),
    # 协商: the merchant's counter-offer, answered by the buyer through the storefront
    ("return", "requested", "counter_offer", "operations", OFFER, "counter_offered", {}),
    ("return", "counter_offered", "accept_offer", "buyer", {}, "refund_pending", OFFERED),
    ("return", "counter_offered", "decline_offer", "buyer", {"reason": "不接受"}, "requested", OFFERED),
    # 平台介入: evidence for the marketplace (a marketplace's ticket only)
    ("return", "arbitration", "submit_evidence", "supervisors", {"statement": "签收完好"}, "evidence_submitted", TMALL),
    # exchange
    ("exchange", "requested", "approve", "operations", {}, "awaiting_return", {}),
    ("exchange", "requested", "reject", "operations", {"reason": "无此尺码"}, "rejected", {}),
    ("exchange", "rejected", "modify", "buyer", {"replacement_sku": "SKU-ALT-L"}, "requested", {}),
    ("exchange", "rejected", "escalate", "buyer", {}, "arbitration", {}),
    ("exchange", "rejected", "accept_rejection", "buyer", {}, "closed", {}),
    ("exchange", "awaiting_return", "ship_back", "buyer", SHIP, "return_in_transit", {}),
    ("exchange", "return_in_transit", "receive", "warehouse", {}, "received", {}),
    ("exchange", "received", "pass_inspection", "warehouse", {}, "replacement_pending", {}),
    ("exchange", "received", "fail_inspection", "warehouse", {"reason": "吊牌已剪"}, "rejected", {}),
    ("exchange", "replacement_pending", "ship_replacement", "warehouse", SHIP, "replacement_shipped", {}),
    ("exchange", "replacement_pending", "convert_to_refund", "warehouse", {"reason": "缺货"}, "closed", {}),
    ("exchange", "replacement_shipped", "confirm_receipt", "buyer", {}, "completed", {}),
    ("exchange", "arbitration", "uphold_buyer", "supervisors", {}, "awaiting_return", {}),
    ("exchange", "arbitration", "uphold_rejection", "supervisors", {"reason": "超时"}, "closed", {}),
    ("exchange", "requested", "cancel", "buyer", {}, "cancelled", {}),
    # complaint
    ("complaint", "open", "acknowledge", "operations", {}, "acknowledged", {}),
    ("complaint", "acknowledged", "investigate", "operations", {}, "investigating", {}),
    (
        "complaint",
        "investigating",
        "propose_resolution",
        "operations",
        {"resolution": "补偿 20 元"},
        "resolution_proposed",
        {},
    ),
    (
        "complaint",
        "escalated",
        "propose_resolution",
        "supervisors",
        {"resolution": "全额退款"},
        "resolution_proposed",
        {},
    ),
    ("complaint", "resolution_proposed", "accept_resolution", "buyer", {}, "closed", {}),
    ("complaint", "resolution_proposed", "reopen", "buyer", {"reason": "没解决"}, "investigating", {}),
    ("complaint", "closed", "reopen", "buyer", {"reason": "又坏了"}, "investigating", {}),
    ("complaint", "open", "escalate", "buyer", {}, "escalated", {}),
    ("complaint", "investigating", "escalate", "operations", {"reason": "升级"}, "escalated", {}),
    ("complaint", "open", "dismiss", "supervisors", {"reason": "重复投诉"}, "closed", {}),
    ("complaint", "open", "cancel", "buyer", {}, "cancelled", {}),
    # logistics
    ("logistics", "reported", "investigate", "logistics", {"carrier_claim_number": "CLAIM-1"}, "investigating", {}),
    ("logistics", "investigating", "reship", "logistics", {}, "reshipping", {}),
    ("logistics", "reshipping", "mark_reshipped", "warehouse", SHIP, "reshipped", {}),
    ("logistics", "investigating", "compensate", "logistics", {"amount": "30.00"}, "compensating", {}),
    ("logistics", "compensation_review", "approve_compensation", "supervisors", {}, "compensating", {}),
    (
        "logistics",
        "compensation_review",
        "reject_compensation",
        "supervisors",
        {"reason": "证据不足"},
        "investigating",
        {},
    ),
    ("logistics", "investigating", "refund", "logistics", {"reason": "丢件"}, "refunding", {}),
    ("logistics", "investigating", "mark_found", "logistics", {}, "found", {}),
    ("logistics", "found", "resolve", "logistics", {}, "resolved", {}),
    ("logistics", "compensating", "resolve", "operations", {}, "resolved", {}),
    ("logistics", "resolved", "confirm", "buyer", {}, "closed", {}),
    ("logistics", "reported", "cancel", "buyer", {}, "cancelled", {}),
]


def test_every_registered_action_is_run_through_http():
    assert {(kind, action) for kind, _, action, *_ in FLOWS} == set(ACTIONS)


def run(shop, ticket, action: str, who: str, body: dict[str, Any]):
    if who == "buyer":
        return shop.client.post(url("ticket-action", number=ticket.number, action=action), body, format="json")
    member = staff(who)
    path = url("staff-ticket-transition", number=ticket.number, transition=action)
    return member.client.post(path, body, format="json")


@pytest.mark.parametrize(
    ("kind", "state", "action", "who", "body", "target", "fields"),
    FLOWS,
    ids=[f"{f[0]}:{f[1]}-{f[2]}-by-{f[3]}" for f in FLOWS],
)
def test_action_through_http(shop_a, kind, state, action, who, body, target, fields):
    ticket = shop_a.ticket(kind, state, **fields)
    response = run(shop_a, ticket, action, who, body)
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["number"], data["state"], data["version"]) == (ticket.number, target, ticket.version + 1)
    after = ticket_reload(ticket)
    assert (after.state, after.version) == (target, ticket.version + 1)
    event = TicketEvent.objects.filter(ticket_id=ticket.pk, event_type=EventType.TRANSITION).get()
    assert (event.transition, event.from_state, event.to_state) == (action, state, target)
    assert event.actor_kind == ("buyer" if who == "buyer" else "staff")
    if who == "buyer":
        # The answer is the ticket as the storefront reads it next, with what the buyer may do now.
        assert "department" not in data and "assignee" not in data
        assert data == shop_a.client.get(url("ticket-detail", number=ticket.number)).json()
    else:
        assert data["department"] == after.department


def test_shipping_actions_record_the_parcel(shop_a):
    ticket = shop_a.ticket("return", "awaiting_return")
    data = run(shop_a, ticket, "ship_back", "buyer", SHIP).json()
    assert data["details"]["return_shipment"] == {**SHIP, "status": "pending"}
    exchange = shop_a.ticket("exchange", "replacement_pending")
    data = run(shop_a, exchange, "ship_replacement", "warehouse", {"carrier": "SF", "tracking_number": "SF1"}).json()
    assert data["details"]["replacement_shipment"]["tracking_number"] == "SF1"


def test_amounts_and_texts_reach_the_ticket(shop_a):
    partly = shop_a.ticket("return", "received")
    data = run(shop_a, partly, "pass_inspection_partly", "warehouse", {"amount": "40.00", "reason": "划痕"}).json()
    assert data["details"]["approved_amount"] == "40.00"
    assert Refund.objects.get(ticket_id=partly.pk).amount == Decimal("40.00")
    modified = shop_a.ticket("return", "rejected")
    data = run(shop_a, modified, "modify", "buyer", {"requested_amount": "60.00", "description": "只退一件"}).json()
    assert (data["details"]["requested_amount"], data["description"]) == ("60.00", "只退一件")
    complaint = shop_a.ticket("complaint", "investigating")
    data = run(shop_a, complaint, "propose_resolution", "operations", {"resolution": "补偿 20 元"}).json()
    assert data["details"]["resolution"] == "补偿 20 元"
    lost = shop_a.ticket("logistics", "investigating")
    data = run(shop_a, lost, "compensate", "logistics", {"amount": "30.00", "reason": "赔付"}).json()
    assert (data["details"]["compensation_amount"], data["details"]["outcome"]) == ("30.00", "compensated")


@pytest.mark.parametrize(
    ("kind", "action", "who"), [("exchange", "convert_to_refund", "warehouse"), ("logistics", "refund", "logistics")]
)
def test_actions_that_hand_the_money_to_a_linked_refund(shop_a, kind, action, who):
    state = "replacement_pending" if kind == "exchange" else "investigating"
    ticket = shop_a.ticket(kind, state)
    assert run(shop_a, ticket, action, who, {"reason": "缺货"}).status_code == 200
    refund = ReturnTicket.objects.get(origin_id=ticket.pk)
    assert (refund.refund_only, refund.state) == (True, "refund_pending")
    # The storefront lists the linked refund beside the original.
    listed = {
        t["number"] for t in shop_a.client.get(url("ticket-list"), {"order": ticket.order.number}).json()["results"]
    }
    assert listed == {ticket.number, refund.number}


def test_a_buyer_action_offered_by_the_ticket_is_the_one_that_runs(shop_a):
    """The detail's ``actions`` are exactly what the buyer may run in each state of a return."""
    offered = {}
    for state in ("requested", "rejected", "awaiting_return", "return_in_transit", "arbitration", "closed"):
        ticket = shop_a.ticket("return", state)
        offered[state] = sorted(
            a["name"] for a in shop_a.client.get(url("ticket-detail", number=ticket.number)).json()["actions"]
        )
    assert offered == {
        "requested": ["cancel"],
        "rejected": ["accept_rejection", "cancel", "escalate", "modify"],
        "awaiting_return": ["cancel", "ship_back"],
        "return_in_transit": [],
        "arbitration": ["cancel"],
        "closed": [],
    }


def test_the_buyer_reads_a_counter_offer_and_may_only_answer_it(shop_a):
    """协商 through the storefront: the offer is in the ticket's details, the answers are the buyer's actions."""
    ticket = shop_a.ticket("return", "counter_offered", **OFFERED)

    data = shop_a.client.get(url("ticket-detail", number=ticket.number)).json()

    assert (data["state"], data["waiting_on"]) == ("counter_offered", "buyer")
    assert (data["details"]["offered_amount"], data["details"]["offer"]) == ("60.00", OFFERED["offer"])
    assert sorted(a["name"] for a in data["actions"]) == ["accept_offer", "cancel", "decline_offer"]
    refused = run(shop_a, ticket, "approve", "buyer", {})
    assert refused.status_code in (403, 404, 409), refused.content
    assert ticket_reload(ticket).state == "counter_offered"
