"""Compensation is bounded by the order's paid amount and the shop's cap, and above the approval threshold a second
supervisor approves it (maker-checker), through the one declared path: ticket_act, the staff API, the admin's
buttons (available_actions) and the timeline all see the same rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from tests.api.conftest import assert_error, staff, storefront, url
from tests.factories.tickets import order_with_line, staff_actor, ticket_build, ticket_reload
from tickets.actions import available_actions
from tickets.actors import Actor
from tickets.errors import CompensationTooHigh, NotPermitted
from tickets.models import EventType, Ticket, TicketEvent
from tickets.services import ticket_act

pytestmark = pytest.mark.django_db


def investigating(**order_fields) -> Ticket:
    with transaction.atomic():
        order = order_with_line(paid_amount=Decimal("500.00"), **order_fields)
        return ticket_build("logistics", "investigating", order=order)


def compensate(ticket: Ticket, amount: str, actor: Actor | None = None) -> Ticket:
    return ticket_act(
        ticket=ticket_reload(ticket),
        actor=actor or staff_actor("logistics"),
        action="compensate",
        amount=Decimal(amount),
        reason="外箱破损",
    )


def test_a_compensation_above_what_the_order_paid_is_refused():
    ticket = investigating()

    with pytest.raises(CompensationTooHigh) as refused:
        compensate(ticket, "500.01")

    assert refused.value.code == "compensation_too_high" and refused.value.field == "amount"
    assert "500.00" in refused.value.message and ticket.order.number in refused.value.message
    after = ticket_reload(ticket)
    assert (after.state, after.compensation_amount, after.version) == ("investigating", None, ticket.version)


def test_compensations_and_refunds_on_the_same_order_count_against_it(settings):
    settings.KEFU_COMPENSATION_APPROVAL_THRESHOLD = 1000
    first = investigating()
    with transaction.atomic():
        second = ticket_build("logistics", "investigating", order=first.order)
    line = first.order.lines.get()
    line.refunded_amount = Decimal("100.00")
    line.save(update_fields=["refunded_amount"])

    compensate(first, "300.00")
    with pytest.raises(CompensationTooHigh) as refused:
        compensate(second, "100.01")  # 500 paid - 100 refunded - 300 compensated = 100 left

    assert "100.00" in refused.value.message
    assert compensate(second, "100.00").state == "compensating"


def test_the_shops_cap_bounds_each_compensation():
    ticket = investigating()
    ticket.shop.compensation_cap = Decimal("50.00")
    ticket.shop.save(update_fields=["compensation_cap"])

    with pytest.raises(CompensationTooHigh) as refused:
        compensate(ticket, "50.01")

    assert ticket.shop.name in refused.value.message and "50.00" in refused.value.message
    assert compensate(ticket, "50.00").state == "compensating"


def test_up_to_the_threshold_it_is_granted_at_once(settings):
    settings.KEFU_COMPENSATION_APPROVAL_THRESHOLD = 200
    ticket = compensate(investigating(), "200.00")

    assert (ticket.state, ticket.compensation_amount, ticket.compensation_proposed_by) == (
        "compensating",
        Decimal("200.00"),
        None,
    )


def test_above_the_threshold_a_second_supervisor_must_approve(settings):
    settings.KEFU_COMPENSATION_APPROVAL_THRESHOLD = 200
    maker = staff_actor("supervisors")  # supervisors may act for logistics, and still may not check themselves
    checker = staff_actor("supervisors")

    ticket = compensate(investigating(), "200.01", actor=maker)
    assert (ticket.state, ticket.department, ticket.compensation_proposed_by) == (
        "compensation_review",
        "supervisors",
        maker.user,
    )
    assert [a.name for a in available_actions(ticket, maker)] == ["reject_compensation"]
    assert "approve_compensation" in [a.name for a in available_actions(ticket, checker)]

    with pytest.raises(NotPermitted) as refused:
        ticket_act(ticket=ticket_reload(ticket), actor=maker, action="approve_compensation")
    assert "cannot also approve" in refused.value.message and ticket.number in refused.value.message
    with pytest.raises(NotPermitted):
        ticket_act(ticket=ticket_reload(ticket), actor=staff_actor("logistics"), action="approve_compensation")

    approved = ticket_act(ticket=ticket_reload(ticket), actor=checker, action="approve_compensation", reason="核实")
    assert (approved.state, approved.compensation_amount) == ("compensating", Decimal("200.01"))
    timeline = [
        (e.transition, e.to_state, e.actor_name, e.payload.get("amount"))
        for e in TicketEvent.objects.filter(ticket_id=ticket.pk, event_type=EventType.TRANSITION).order_by("pk")
    ]
    assert timeline == [
        ("compensate", "compensation_review", maker.name, "200.01"),
        ("approve_compensation", "compensating", checker.name, None),
    ]


def test_a_shops_own_threshold_wins_and_a_rejection_sends_it_back(settings):
    settings.KEFU_COMPENSATION_APPROVAL_THRESHOLD = 200
    ticket = investigating()
    ticket.shop.compensation_approval_threshold = Decimal("20.00")
    ticket.shop.save(update_fields=["compensation_approval_threshold"])

    ticket = compensate(ticket, "30.00")
    assert ticket.state == "compensation_review"
    rejected = ticket_act(
        ticket=ticket, actor=staff_actor("supervisors"), action="reject_compensation", reason="证据不足"
    )

    assert (rejected.state, rejected.compensation_amount, rejected.outcome, rejected.compensation_proposed_by) == (
        "investigating",
        None,
        "",
        None,
    )
    # The room it held on the order is free again.
    assert compensate(rejected, "500.00").state == "compensation_review"


def test_through_the_staff_api_the_maker_is_refused_in_the_callers_language(settings):
    settings.KEFU_COMPENSATION_APPROVAL_THRESHOLD = 100
    shop = storefront("shop-comp")
    ticket = shop.ticket("logistics", "investigating")  # the order paid ¥100.00
    boss = staff("supervisors", username="boss-maker")
    other = staff("supervisors", username="boss-checker")
    compensate_url = url("staff-ticket-transition", number=ticket.number, transition="compensate")
    approve_url = url("staff-ticket-transition", number=ticket.number, transition="approve_compensation")

    too_much = boss.client.post(compensate_url, {"amount": "100.01"}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert_error(too_much, 400, "compensation_too_high", "amount")
    proposed = boss.client.post(compensate_url, {"amount": "100.00"}, format="json")
    assert proposed.status_code == 200 and proposed.json()["state"] == "compensating"

    ticket2 = shop.ticket("logistics", "investigating")
    settings.KEFU_COMPENSATION_APPROVAL_THRESHOLD = 50
    compensate_url = url("staff-ticket-transition", number=ticket2.number, transition="compensate")
    approve_url = url("staff-ticket-transition", number=ticket2.number, transition="approve_compensation")
    assert boss.client.post(compensate_url, {"amount": "60.00"}, format="json").json()["state"] == (
        "compensation_review"
    )
    zh = assert_error(
        boss.client.post(approve_url, {}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans"), 403, "not_permitted"
    )
    assert "另一位主管" in zh["message"], zh
    approved = other.client.post(approve_url, {}, format="json")
    assert approved.status_code == 200 and approved.json()["state"] == "compensating"
