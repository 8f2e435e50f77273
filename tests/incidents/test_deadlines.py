"""Extending the internal deadlines of an incident's tickets as a whole, never past a platform's deadline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.errors import IncidentClosed, IncidentNotRunning
from incidents.models import IncidentStatus, IncidentTicket
from incidents.services import incident_deadlines_extend, incident_open_tickets, incident_start
from tests.factories.desk import open_logistics
from tests.factories.incidents import IncidentFactory, delayed_order
from tests.factories.orders import ShopFactory
from tickets.clock import platform_deadline_margin
from tickets.models import EventType, Ticket
from tickets.services.deadlines import sweep_due
from tickets.wording import event_reason

pytestmark = pytest.mark.django_db


def running(shop, supervisor, **fields):
    incident = IncidentFactory(shops=[shop], **fields)
    incident_start(incident, supervisor)
    incident.refresh_from_db()
    incident_open_tickets(incident)
    return incident


def clocks(ticket_id: int) -> tuple:
    return tuple(Ticket.objects.filter(pk=ticket_id).values_list("due_at", "step_due_at", "warn_at").get())


def test_every_open_ticket_moves_by_the_extension_and_says_so_on_its_timeline(supervisor):
    shop = ShopFactory()
    orders = [delayed_order(shop=shop) for _ in range(3)]
    incident = running(shop, supervisor, title="中转停运")
    ids = list(IncidentTicket.objects.filter(incident=incident).values_list("ticket_id", flat=True))
    before = {pk: clocks(pk) for pk in ids}
    closed = Ticket.objects.get(order=orders[2])
    Ticket.objects.filter(pk=closed.pk).update(closed_at=timezone.now(), due_at=None)

    result = incident_deadlines_extend(incident, timedelta(hours=48), supervisor)

    assert (result.extended, result.capped, result.flagged) == (2, 0, 0)
    for pk in ids:
        if pk == closed.pk:
            assert clocks(pk)[0] is None and not Ticket.objects.get(pk=pk).events.filter(event_type="comment")
            continue
        due, step_due, warn = before[pk]
        assert clocks(pk) == (
            due + timedelta(hours=48),
            step_due + timedelta(hours=48),
            warn + timedelta(hours=48) if warn else None,
        )
        note = Ticket.objects.get(pk=pk).events.get(event_type=EventType.COMMENT)
        assert not note.public and note.actor_user == supervisor.user
        assert note.payload["incident"] == incident.pk and note.payload["extended_by_seconds"] == 48 * 3600
        assert event_reason(note).startswith("Incident “中转停运”: internal deadline moved by 48.0 h, to ")

    # The sweep leaves them alone when their old deadline passes.
    result = sweep_due(now=max(before[pk][0] for pk in ids) + timedelta(minutes=1))
    assert result.escalated == 0
    assert not Ticket.objects.filter(pk__in=ids, sla_breached=True).exists()


def test_a_ticket_whose_platform_deadline_comes_first_is_held_there_flagged_and_escalated(supervisor):
    shop = ShopFactory()
    order = delayed_order(shop=shop)
    delayed_order(shop=shop)
    platform_due = timezone.now() + timedelta(hours=30)
    case = open_logistics(order)
    Ticket.objects.filter(pk=case.pk).update(platform="taobao", platform_due_at=platform_due)
    # No expected delivery date: nothing is flagged at the start, the extension is what runs into the platform.
    incident = running(shop, supervisor, expected_delivery_date=None)
    assert IncidentTicket.objects.get(ticket_id=case.pk).platform_flagged_at is None

    result = incident_deadlines_extend(incident, timedelta(days=3), supervisor)

    assert (result.extended, result.capped, result.flagged) == (1, 1, 1)
    limit = platform_due - platform_deadline_margin()
    ticket = Ticket.objects.get(pk=case.pk)
    assert ticket.due_at <= limit and ticket.step_due_at == limit
    assert ticket.department == "supervisors" and ticket.escalation_level == 1 and ticket.sla_breached
    assert IncidentTicket.objects.get(ticket_id=case.pk).platform_flagged_at is not None
    escalation = ticket.events.get(event_type=EventType.ESCALATION)
    assert "platform's deadline" in event_reason(escalation)

    # Extended again: held at the same place, not escalated a second time.
    again = incident_deadlines_extend(incident, timedelta(days=1), supervisor)
    assert (again.capped, again.flagged) == (1, 0)
    assert Ticket.objects.get(pk=case.pk).escalation_level == 1
    assert Ticket.objects.get(pk=case.pk).due_at <= limit


def test_the_extension_takes_the_same_number_of_queries_for_few_and_many_tickets(supervisor):
    small_shop, large_shop = ShopFactory(), ShopFactory()
    for _ in range(3):
        delayed_order(shop=small_shop)
    for _ in range(12):
        delayed_order(shop=large_shop)
    small = running(small_shop, supervisor)
    large = running(large_shop, supervisor)

    with CaptureQueriesContext(connection) as few:
        assert incident_deadlines_extend(small, timedelta(hours=12), supervisor).extended == 3
    with CaptureQueriesContext(connection) as many:
        assert incident_deadlines_extend(large, timedelta(hours=12), supervisor).extended == 12
    assert len(few) == len(many)


def test_only_a_running_incident_has_deadlines_to_move(supervisor):
    draft = IncidentFactory()
    with pytest.raises(IncidentNotRunning):
        incident_deadlines_extend(draft, timedelta(hours=1), supervisor)
    draft.status = IncidentStatus.CLOSED
    with pytest.raises(IncidentClosed):
        incident_deadlines_extend(draft, timedelta(hours=1), supervisor)
