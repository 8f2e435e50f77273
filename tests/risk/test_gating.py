"""A flagged buyer's ticket bypasses automation and goes to a supervisor; staff hear of a new flag."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import translation

from notifications.models import Audience, DepartmentRobot, Event, Notification
from risk.models import RiskPolicy
from risk.services.profiles import buyer_profile_refresh
from routing.models import Department
from tests.factories.desk import reload
from tests.factories.tickets import ticket_build
from tests.risk.history import past_ticket, shop_and_buyer
from tickets.models import EventType, TicketEvent
from tickets.services.deadlines import SWEEP_ACTOR, ticket_process_due
from tickets.wording import event_reason

pytestmark = pytest.mark.django_db

AFTER = timedelta(seconds=1)


def flagged_buyer(returns: int = 2):
    """A buyer with ``returns`` returns this month in a shop whose serial-returner threshold is 2."""
    shop, buyer = shop_and_buyer()
    RiskPolicy.objects.create(shop=shop, serial_returns_30d=2)
    for days in range(returns):
        past_ticket(buyer, days=days + 2, state="closed")
    return shop, buyer


@pytest.mark.parametrize(
    ("state", "fields", "action"),
    [("return_in_transit", {}, "auto_refund"), ("requested", {"refund_only": True}, "approve")],
)
def test_a_flagged_buyers_due_ticket_is_escalated_to_supervisors_instead(state, fields, action) -> None:
    _shop, buyer = flagged_buyer()
    ticket = past_ticket(buyer, days=0, state=state, **fields)
    buyer_profile_refresh(buyer_id=buyer.pk)

    outcome = ticket_process_due(ticket_id=ticket.pk, kind="return", now=reload(ticket).due_at + AFTER)

    ticket = reload(ticket)
    assert outcome == "escalated"
    assert ticket.state == state  # no refund, no approval
    assert ticket.department == "supervisors" and ticket.escalation_level == 1
    [escalation] = TicketEvent.objects.filter(ticket_id=ticket.pk, event_type=EventType.ESCALATION)
    assert escalation.actor_name == SWEEP_ACTOR
    assert escalation.payload["reason_code"] == "risk_automation_refused"
    text = event_reason(escalation)
    assert "the buyer is flagged (Serial returner: 3 returns in 30 days (threshold 2))" in text
    with translation.override("zh-hans"):
        assert "连续退货" in event_reason(escalation)


def test_an_unflagged_buyers_due_return_is_still_refunded_automatically() -> None:
    _shop, buyer = flagged_buyer(returns=0)
    ticket = past_ticket(buyer, days=0, state="return_in_transit")
    buyer_profile_refresh(buyer_id=buyer.pk)
    outcome = ticket_process_due(ticket_id=ticket.pk, kind="return", now=reload(ticket).due_at + AFTER)
    assert outcome == "transitioned" and reload(ticket).state == "refund_pending"


def test_a_flag_cleared_lets_automation_act_again() -> None:
    shop, buyer = flagged_buyer()
    ticket = past_ticket(buyer, days=0, state="return_in_transit")
    buyer_profile_refresh(buyer_id=buyer.pk)
    RiskPolicy.objects.filter(shop=shop).update(serial_returns_30d=10)
    buyer_profile_refresh(buyer_id=buyer.pk)
    outcome = ticket_process_due(ticket_id=ticket.pk, kind="return", now=reload(ticket).due_at + AFTER)
    assert outcome == "transitioned"


def test_a_new_flag_is_noted_on_open_tickets_and_reaches_the_department_and_supervisors() -> None:
    DepartmentRobot.objects.create(
        department=Department.objects.get(code="supervisors"), channel="wecom", url="https://robot.example/sup"
    )
    DepartmentRobot.objects.create(
        department=Department.objects.get(code="operations"), channel="wecom", url="https://robot.example/ops"
    )
    shop, buyer = flagged_buyer(returns=1)
    open_ticket = ticket_build("return", order=past_ticket(buyer, days=0, state="closed").order, lines=[])
    closed = past_ticket(buyer, days=1, state="closed")

    buyer_profile_refresh(buyer_id=buyer.pk)

    [note] = TicketEvent.objects.filter(ticket_id=open_ticket.pk, event_type=EventType.COMMENT)
    assert not note.public and note.payload["reason_code"] == "risk_flagged"
    assert not TicketEvent.objects.filter(ticket_id=closed.pk, event_type=EventType.COMMENT).exists()
    sent = Notification.objects.filter(ticket_id=open_ticket.pk, event=Event.RISK_FLAGGED)
    assert {(n.audience, n.recipient) for n in sent} == {
        (Audience.DEPARTMENT, "https://robot.example/ops"),
        (Audience.SUPERVISORS, "https://robot.example/sup"),
    }
    body = sent.get(audience=Audience.SUPERVISORS).body
    assert open_ticket.number in body and "连续退货" in body  # staff messages are in the site's language
    buyer_profile_refresh(buyer_id=buyer.pk)  # the flag is still up: nobody is told twice
    assert Notification.objects.filter(ticket_id=open_ticket.pk, event=Event.RISK_FLAGGED).count() == 2
