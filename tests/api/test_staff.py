"""Staff endpoints: the queue (filters, due-time order), claim, assign, internal and public comments; and the
integration endpoints (carrier tracking events, the warehouse's "parcel received")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import TrackingEvent
from tests.api.conftest import assert_error, staff, staff_user, url
from tests.factories.orders import ShipmentFactory
from tests.factories.tickets import ticket_reload
from tickets.models import EventType, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def queue(member, **query) -> list[str]:
    response = member.client.get(url("staff-queue"), query)
    assert response.status_code == 200, response.content
    return [row["number"] for row in response.json()["results"]]


def test_the_queue_is_ordered_by_due_time_and_filtered(shop_a):
    ops = staff("operations")
    now = timezone.now()
    late = shop_a.ticket("return", "requested")
    soon = shop_a.ticket("complaint", "open")
    later = shop_a.ticket("exchange", "requested")
    Ticket.objects.filter(pk=late.pk).update(due_at=now - timedelta(hours=1), step_due_at=now - timedelta(hours=1))
    Ticket.objects.filter(pk=soon.pk).update(
        due_at=now + timedelta(hours=1), step_due_at=now + timedelta(hours=1), priority=40, assignee=ops.user
    )
    Ticket.objects.filter(pk=later.pk).update(due_at=now + timedelta(days=1), step_due_at=now + timedelta(days=1))
    shop_a.ticket("return", "cancelled")  # closed: never queued
    assert queue(ops) == [late.number, soon.number, later.number]
    assert queue(ops, overdue="true") == [late.number]
    assert queue(ops, overdue="false") == [soon.number, later.number]
    assert queue(ops, priority=40) == [soon.number]
    assert queue(ops, assignee="me") == [soon.number]
    assert queue(ops, assignee=ops.user.username) == [soon.number]
    assert queue(ops, assignee="none") == [late.number, later.number]
    assert queue(ops, kind="exchange") == [later.number]
    assert queue(ops, state="open") == [soon.number]
    rows = ops.client.get(url("staff-queue")).json()["results"]
    assert rows[1]["assignee"] == ops.user.username and rows[1]["priority"] == 40
    assert {row["department"] for row in rows} == {"operations"}
    assert_error(ops.client.get(url("staff-queue"), {"priority": "high"}), 400, "invalid", "priority")


def test_claim_takes_an_unassigned_ticket_once(shop_a):
    ticket = shop_a.ticket("return", "requested")
    first, second = staff("operations"), staff("operations")
    claim = url("staff-ticket-claim", number=ticket.number)
    response = first.client.post(claim)
    assert response.status_code == 200, response.content
    assert response.json()["assignee"] == first.user.username
    assert first.client.post(claim).status_code == 200  # claiming one's own ticket again changes nothing
    assert_error(second.client.post(claim), 409, "already_claimed")
    assert ticket_reload(ticket).assignee_id == first.user.pk
    assignments = TicketEvent.objects.filter(ticket_id=ticket.pk, event_type=EventType.ASSIGNMENT)
    assert all(not e.public for e in assignments)


def test_only_supervisors_assign_and_only_to_members(shop_a):
    ticket = shop_a.ticket("return", "requested")
    path = url("staff-ticket-assign", number=ticket.number)
    member = staff_user("operations", username="ops-li")
    staff_user("warehouse", username="wh-wang")
    assert_error(staff("operations").client.post(path, {"assignee": "ops-li"}, format="json"), 403, "not_permitted")
    boss = staff("supervisors")
    response = boss.client.post(path, {"assignee": "ops-li"}, format="json")
    assert response.status_code == 200 and response.json()["assignee"] == "ops-li"
    assert ticket_reload(ticket).assignee_id == member.pk
    assert_error(boss.client.post(path, {"assignee": "wh-wang"}, format="json"), 400, "not_a_member", "assignee")
    assert_error(boss.client.post(path, {"assignee": "nobody-here"}, format="json"), 400, "invalid", "assignee")
    assert_error(boss.client.post(path, {}, format="json"), 400, "invalid", "assignee")
    response = boss.client.post(path, {"assignee": None}, format="json")
    assert response.status_code == 200 and response.json()["assignee"] is None


def test_internal_and_public_comments(shop_a):
    ticket = shop_a.ticket("complaint", "open")
    ops = staff("operations")
    path = url("staff-ticket-comment", number=ticket.number)
    internal = ops.client.post(path, {"body": "查一下物流"}, format="json")
    assert internal.status_code == 201 and internal.json()["public"] is False
    assert internal.json()["actor_name"] == ops.user.username
    public = ops.client.post(path, {"body": "已为您加急", "public": True}, format="json")
    assert public.status_code == 201 and public.json()["public"] is True
    assert_error(ops.client.post(path, {"body": "   "}, format="json"), 400, "invalid", "body")
    seen_by_buyer = [
        e["reason"] for e in shop_a.client.get(url("ticket-detail", number=ticket.number)).json()["timeline"]
    ]
    assert "已为您加急" in seen_by_buyer and "查一下物流" not in seen_by_buyer


def tracking(tracking_number: str, event_id: str = "E-1", status: str = "in_transit", hours_ago: int = 2) -> dict:
    return {
        "carrier": "SF",
        "tracking_number": tracking_number,
        "event_id": event_id,
        "status": status,
        "occurred_at": (timezone.now() - timedelta(hours=hours_ago)).isoformat(),
        "location": "深圳",
    }


def test_tracking_events_are_recorded_once_per_event_id(shop_a):
    shipment = ShipmentFactory(order=shop_a.order(), carrier="SF", tracking_number="SF-T-1")
    feed = staff("logistics")
    path = url("tracking-event")
    first = feed.client.post(path, tracking("SF-T-1"), format="json")
    assert first.status_code == 201, first.content
    assert first.json() == {"event_id": "E-1", "shipment_status": "in_transit", "created": True}
    again = feed.client.post(path, tracking("SF-T-1"), format="json")
    assert again.status_code == 200 and again.json()["created"] is False
    delivered = feed.client.post(path, tracking("SF-T-1", "E-2", "delivered", hours_ago=1), format="json")
    assert delivered.json()["shipment_status"] == "delivered"
    assert TrackingEvent.objects.filter(shipment=shipment).count() == 2
    unknown = feed.client.post(path, tracking("SF-NOPE"), format="json")
    assert_error(unknown, 404, "shipment_not_found", "tracking_number")
    assert_error(
        feed.client.post(path, {**tracking("SF-T-1"), "status": "teleported"}, format="json"), 400, "invalid", "status"
    )
    assert_error(staff("operations").client.post(path, tracking("SF-T-1", "E-3"), format="json"), 403, "not_permitted")
    ancient = {**tracking("SF-T-1", "E-4", "delivered"), "occurred_at": "0439-07-26T19:57:47+08:00"}
    assert_error(feed.client.post(path, ancient, format="json"), 400, "invalid", "occurred_at")
    assert TrackingEvent.objects.filter(shipment=shipment).count() == 2


@pytest.mark.parametrize("kind", ["return", "exchange"])
def test_parcel_received_moves_a_return_or_exchange_to_received(shop_a, kind):
    ticket = shop_a.ticket(kind, "return_in_transit")
    wms = staff("warehouse", username="wms-bot")
    response = wms.client.post(url("parcel-received", number=ticket.number))
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "received"
    event = TicketEvent.objects.get(ticket_id=ticket.pk, event_type=EventType.TRANSITION)
    assert (event.transition, event.actor_kind) == ("receive", "integration")
    # The buyer reads "integration", not the warehouse system's staff account.
    public = shop_a.client.get(url("ticket-detail", number=ticket.number))
    assert "wms-bot" not in public.content.decode()
    assert public.json()["timeline"][-1]["actor_name"] == "integration"
    assert_error(wms.client.post(url("parcel-received", number=ticket.number)), 409, "transition_not_allowed")


def test_parcel_received_is_refused_for_a_ticket_without_a_parcel(shop_a):
    ticket = shop_a.ticket("logistics", "reshipping")  # in the warehouse's queue, but nothing comes back
    response = staff("warehouse").client.post(url("parcel-received", number=ticket.number))
    assert_error(response, 409, "transition_not_allowed")
    assert ticket_reload(ticket).state == "reshipping"


def test_a_transition_on_a_ticket_another_agent_just_moved_on_is_409_not_404(shop_a):
    """Two agents had the same return open; the first approves it (it leaves operations' queue for the buyer).
    The second's rejection is told the ticket changed (409 ``ticket_changed``, with its state now), not that it
    does not exist; a department that never held the ticket still gets 404."""
    ticket = shop_a.ticket("return", "requested")
    first, second = staff("operations"), staff("operations")
    approve = url("staff-ticket-transition", number=ticket.number, transition="approve")
    assert first.client.post(approve, {}, format="json").status_code == 200
    reject = url("staff-ticket-transition", number=ticket.number, transition="reject")
    body = assert_error(
        second.client.post(reject, {"reason": "不符合"}, format="json", HTTP_ACCEPT_LANGUAGE="en"),
        409,
        "ticket_changed",
    )
    assert ticket.number in body["message"] and "Awaiting return" in body["message"]
    comment = url("staff-ticket-comment", number=ticket.number)
    assert_error(second.client.post(comment, {"body": "x"}, format="json"), 409, "ticket_changed")
    assert second.client.get(url("staff-ticket-detail", number=ticket.number)).status_code == 404  # reads: not yours
    stranger = staff("warehouse")
    assert_error(stranger.client.post(reject, {"reason": "x"}, format="json"), 404, "not_found")
    assert TicketEvent.objects.filter(ticket_id=ticket.pk, event_type=EventType.TRANSITION).count() == 1
