"""Bulk actions on the list: each ticket goes through its service; the user learns how many succeeded and,
grouped by reason, which did not and why.
"""

from __future__ import annotations

import pytest
from django.db.models import F
from django.urls import reverse

from desk.admin import bulk
from tests.admin.conftest import LIST, desk_user, messages_of, ticket
from tests.factories.tickets import ticket_reload
from tickets.models import Refund, TicketEvent

pytestmark = pytest.mark.django_db


def bulk_action(client, action: str, tickets, **extra):
    data = {"action": action, "_selected_action": [t.pk for t in tickets], "index": 0, **extra}
    return client.post(reverse(LIST), data, follow=True)


def test_approve_selected_requests_reports_successes_and_why_the_others_failed(sup_client):
    refund_only = ticket("return", "requested", refund_only=True)
    goods_back = ticket("return", "requested")
    exchange = ticket("exchange", "requested")
    already = ticket("return", "refunded")
    complaint = ticket("complaint", "open")

    response = bulk_action(sup_client, "bulk_approve", [refund_only, goods_back, exchange, already, complaint])

    assert ticket_reload(refund_only).state == "refund_pending"
    assert Refund.objects.filter(ticket_id=refund_only.pk).exists()  # the same entry hook as the API's approve
    assert ticket_reload(goods_back).state == "awaiting_return"
    assert ticket_reload(exchange).state == "awaiting_return"
    assert (ticket_reload(already).state, ticket_reload(complaint).state) == ("refunded", "open")
    for t in (refund_only, goods_back, exchange):
        assert TicketEvent.objects.filter(ticket_id=t.pk, transition="approve", actor_name="sup-dave").exists()
    succeeded, *refusals = messages_of(response)
    assert succeeded == "Approve selected requests (returns, refund-only, exchanges): 3 tickets succeeded."
    [refusal] = refusals  # both are "transition not allowed": one message
    assert "2 tickets not changed" in refusal
    assert f"{already.number}: Ticket {already.number} is Refunded (refunded); 'approve' is only possible" in refusal
    assert f"{complaint.number}: 'approve' is not an action of a" in refusal


def test_refusals_of_different_kinds_are_reported_apart(sup_client):
    ok = ticket("return", "requested", refund_only=True)
    wrong_state = [ticket("return", "refunded"), ticket("exchange", "completed")]
    nothing_left = ticket("return", "requested", refund_only=True)
    nothing_left.order.lines.update(refunded_amount=F("paid_amount"))  # refunded meanwhile by another ticket

    response = bulk_action(sup_client, "bulk_approve", [ok, *wrong_state, nothing_left])

    assert ticket_reload(ok).state == "refund_pending" and ticket_reload(nothing_left).state == "requested"
    succeeded, *refusals = messages_of(response)
    assert succeeded.endswith(": 1 ticket succeeded.")
    assert len(refusals) == 2
    assert "2 tickets not changed" in refusals[0] and all(t.number in refusals[0] for t in wrong_state)
    assert "1 ticket not changed" in refusals[1] and nothing_left.number in refusals[1]


def test_a_warehouse_member_marks_selected_returns_received(wh_client):
    parcels = [ticket("return", "return_in_transit"), ticket("exchange", "return_in_transit")]
    not_yet = ticket("return", "requested")  # operations' ticket: not even in the warehouse's list

    response = bulk_action(wh_client, "bulk_receive", [*parcels, not_yet])

    assert [ticket_reload(t).state for t in parcels] == ["received", "received"]
    assert ticket_reload(not_yet).state == "requested"
    assert messages_of(response) == ["Mark selected returns and exchanges received: 2 tickets succeeded."]


def test_claim_selected(ops_client, ops_user):
    free = ticket("return", "requested")
    taken = ticket("complaint", "open")
    other = desk_user("operations", username="ops-zoe")
    from tickets.models import Ticket

    Ticket.objects.filter(pk=taken.pk).update(assignee=other)

    response = bulk_action(ops_client, "bulk_claim", [free, taken])

    assert ticket_reload(free).assignee == ops_user and ticket_reload(taken).assignee == other
    succeeded, refusal = messages_of(response)
    assert succeeded == "Claim: 1 ticket succeeded."
    assert refusal == (
        f"Claim: 1 ticket not changed — {taken.number}: Ticket {taken.number} was already claimed by ops-zoe."
    )


def test_supervisors_assign_selected_to_a_member_and_back_to_the_queue(sup_client, ops_user, wh_user):
    ops_tickets = [ticket("return", "requested"), ticket("complaint", "open")]
    wh_ticket = ticket("return", "received")

    response = bulk_action(sup_client, "bulk_assign", [*ops_tickets, wh_ticket], assignee=ops_user.pk)

    assert [ticket_reload(t).assignee for t in ops_tickets] == [ops_user, ops_user]
    assert ticket_reload(wh_ticket).assignee is None
    succeeded, refusal = messages_of(response)
    assert succeeded == "Assign to ops-alice: 2 tickets succeeded."
    assert f"{wh_ticket.number}: ops-alice is not a member of the warehouse department." in refusal

    bulk_action(sup_client, "bulk_unassign", ops_tickets)
    assert [ticket_reload(t).assignee for t in ops_tickets] == [None, None]


def test_assign_without_choosing_whom_changes_nothing(sup_client):
    t = ticket("return", "requested")

    response = bulk_action(sup_client, "bulk_assign", [t])

    assert ticket_reload(t).assignee is None
    assert messages_of(response) == ["Choose the staff member to assign the tickets to, next to the action."]


def test_department_staff_cannot_run_the_supervisors_actions(ops_client, ops_user):
    t = ticket("return", "requested")

    response = bulk_action(ops_client, "bulk_assign", [t], assignee=ops_user.pk)

    assert ticket_reload(t).assignee is None
    assert messages_of(response) == ["No action selected."]


def test_too_many_tickets_at_once_are_refused(sup_client, monkeypatch):
    monkeypatch.setattr(bulk, "BULK_LIMIT", 2)
    tickets = [ticket("return", "requested") for _ in range(3)]

    response = bulk_action(sup_client, "bulk_approve", tickets)

    assert [ticket_reload(t).state for t in tickets] == ["requested"] * 3
    assert messages_of(response) == ["3 tickets selected; bulk actions take at most 2 at a time. Narrow the list down."]
