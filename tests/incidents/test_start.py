"""Starting an incident: one ticket per affected order, each saying on its timeline that it came from the incident;
idempotent when started again, when the scope is widened and when new matching orders arrive (the re-scan)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from incidents.errors import IncidentClosed, IncidentInvalid
from incidents.models import IncidentOffer, IncidentStatus, IncidentTicket
from incidents.services import incident_open_tickets, incident_rescan, incident_start
from incidents.tasks import incident_open_tickets_task, incident_rescan_task
from notifications.models import Event, Notification, ShopChannels
from orders.models import ShipmentStatus
from tests.factories.desk import open_logistics, open_return
from tests.factories.incidents import IncidentFactory, delayed_order
from tests.factories.orders import ShopFactory
from tickets.models import EventType, ExchangeTicket, LogisticsTicket, Ticket, TicketEvent
from tickets.wording import actor_label, event_reason

pytestmark = pytest.mark.django_db


def started(incident, supervisor, django_capture_on_commit_callbacks, settings):
    """Start as the admin does: the opening task runs after the commit (eagerly here, as a worker would)."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True):
        incident_start(incident, supervisor)
    incident.refresh_from_db()
    return incident


def test_starting_opens_one_logistics_ticket_per_affected_order_that_names_the_incident(
    supervisor, django_capture_on_commit_callbacks, settings
):
    shop = ShopFactory()
    orders = [delayed_order(shop=shop) for _ in range(3)]
    delayed_order(shop=shop, carrier="ZTO")  # not affected
    incident = IncidentFactory(title="顺丰杭州中转停运", shops=[shop])

    started(incident, supervisor, django_capture_on_commit_callbacks, settings)

    assert incident.status == IncidentStatus.RUNNING
    assert incident.started_by == supervisor.user and incident.started_at is not None
    tickets = LogisticsTicket.objects.filter(order__in=orders)
    assert tickets.count() == 3 and Ticket.objects.count() == 3
    for ticket in tickets:
        assert ticket.exception_type == "delayed"
        assert ticket.shipment is not None and ticket.shipment.carrier == "SF"
        link = ticket.incident_link
        assert (link.incident, link.order_id, link.buyer_id) == (incident, ticket.order_id, ticket.buyer_id)
        created = ticket.events.get(event_type=EventType.CREATED)
        assert created.payload["incident"] == incident.pk
        assert actor_label(created.actor_name) == "incident"
        assert event_reason(created) == f"Opened for incident “顺丰杭州中转停运” (#{incident.pk})."
        with translation.override("zh-hans"):
            assert "顺丰杭州中转停运" in event_reason(created) and "Opened" not in event_reason(created)


def test_only_an_exchange_offered_opens_exchange_tickets_to_the_alternative_sku(
    supervisor, django_capture_on_commit_callbacks, settings
):
    shop = ShopFactory()
    order = delayed_order(shop=shop, sku="RED-M", status="paid")
    incident = IncidentFactory(
        kind="out_of_stock",
        shops=[shop],
        carrier="",
        skus=["RED-M"],
        offers=[IncidentOffer.EXCHANGE],
        alternative_sku="BLUE-M",
        compensation_amount=None,
    )

    started(incident, supervisor, django_capture_on_commit_callbacks, settings)

    ticket = ExchangeTicket.objects.get(order=order)
    assert ticket.replacement_sku == "BLUE-M"
    assert [(line.order_line.sku, line.quantity) for line in ticket.lines.all()] == [("RED-M", 1)]
    assert ticket.incident_link.incident == incident


def test_starting_twice_and_running_the_task_again_never_opens_a_second_ticket(
    supervisor, django_capture_on_commit_callbacks, settings
):
    shop = ShopFactory()
    for _ in range(5):
        delayed_order(shop=shop)
    incident = IncidentFactory(shops=[shop])

    started(incident, supervisor, django_capture_on_commit_callbacks, settings)
    started(incident, supervisor, django_capture_on_commit_callbacks, settings)
    incident_open_tickets_task(incident.pk)
    result = incident_open_tickets(incident, chunk_size=2)

    assert result.opened == 0
    assert Ticket.objects.count() == IncidentTicket.objects.count() == 5


def test_the_chunks_open_every_order_once(supervisor):
    shop = ShopFactory()
    for _ in range(7):
        delayed_order(shop=shop)
    incident = IncidentFactory(shops=[shop])
    incident_start(incident, supervisor)  # the task is not run: opened below, three orders a transaction

    result = incident_open_tickets(incident, chunk_size=3)

    assert (result.opened, result.linked, result.skipped) == (7, 0, [])
    assert IncidentTicket.objects.filter(incident=incident).count() == 7


def test_widening_the_scope_adds_tickets_only_for_the_new_orders(
    supervisor, django_capture_on_commit_callbacks, settings
):
    shop = ShopFactory()
    hangzhou = [delayed_order(shop=shop, origin_region="浙江省/杭州市") for _ in range(2)]
    ningbo = delayed_order(shop=shop, origin_region="浙江省/宁波市")
    incident = IncidentFactory(shops=[shop], origin_region="浙江省/杭州市")
    started(incident, supervisor, django_capture_on_commit_callbacks, settings)
    first_tickets = set(Ticket.objects.values_list("pk", flat=True))
    assert len(first_tickets) == 2

    incident.origin_region = "浙江省"
    incident.save(update_fields=["origin_region"])
    started(incident, supervisor, django_capture_on_commit_callbacks, settings)

    assert set(Ticket.objects.values_list("order_id", flat=True)) == {o.pk for o in [*hangzhou, ningbo]}
    assert first_tickets < set(Ticket.objects.values_list("pk", flat=True))
    assert Ticket.objects.count() == 3


def test_the_rescan_opens_tickets_for_orders_that_match_later_and_leaves_the_others(
    supervisor, django_capture_on_commit_callbacks, settings
):
    shop = ShopFactory()
    delayed_order(shop=shop)
    incident = IncidentFactory(shops=[shop], tracking_statuses=[ShipmentStatus.IN_TRANSIT])
    draft = IncidentFactory(shops=[shop])  # never started: the re-scan leaves it alone
    started(incident, supervisor, django_capture_on_commit_callbacks, settings)
    late = delayed_order(shop=shop, tracking_status=ShipmentStatus.PENDING)

    assert incident_rescan_task()["opened"] == 0  # not in transit yet
    late.shipments.update(status=ShipmentStatus.IN_TRANSIT)
    assert incident_rescan_task()["opened"] == 1
    assert incident_rescan().opened == 0

    assert LogisticsTicket.objects.get(order=late).incident_link.incident == incident
    assert not IncidentTicket.objects.filter(incident=draft).exists()
    assert Ticket.objects.count() == 2


def test_an_order_with_an_open_ticket_of_that_kind_gets_it_linked_not_a_second_one(supervisor):
    shop = ShopFactory()
    order = delayed_order(shop=shop)
    own = open_logistics(order, exception_type="lost")
    closed_before = delayed_order(shop=shop)
    done = open_logistics(closed_before)
    Ticket.objects.filter(pk=done.pk).update(closed_at=timezone.now())
    incident = IncidentFactory(shops=[shop])
    incident_start(incident, supervisor)

    result = incident_open_tickets(incident)

    assert (result.opened, result.linked) == (1, 1)
    assert IncidentTicket.objects.get(order=order).ticket_id == own.pk
    assert Ticket.objects.filter(order=order).count() == 1
    assert Ticket.objects.filter(order=closed_before).count() == 2  # a closed one is not the incident's answer
    note = TicketEvent.objects.filter(ticket_id=own.pk, event_type=EventType.COMMENT).get()
    assert not note.public and note.payload["incident"] == incident.pk
    assert "Linked to incident" in event_reason(note)


def test_a_ticket_the_platform_decides_on_before_the_new_delivery_date_is_flagged_and_escalated(supervisor):
    shop = ShopFactory()
    soon, later = delayed_order(shop=shop), delayed_order(shop=shop)
    incident = IncidentFactory(shops=[shop], expected_delivery_date=(timezone.now() + timedelta(days=4)).date())
    for order, due in ((soon, timezone.now() + timedelta(days=2)), (later, timezone.now() + timedelta(days=9))):
        ticket = open_logistics(order)
        Ticket.objects.filter(pk=ticket.pk).update(platform="taobao", platform_due_at=due)
    incident_start(incident, supervisor)

    result = incident_open_tickets(incident)

    assert (result.linked, result.flagged) == (2, 1)
    flagged = IncidentTicket.objects.get(order=soon)
    assert flagged.platform_flagged_at is not None
    assert IncidentTicket.objects.get(order=later).platform_flagged_at is None
    ticket = Ticket.objects.get(pk=flagged.ticket_id)
    assert ticket.department == "supervisors" and ticket.escalation_level == 1
    escalation = ticket.events.get(event_type=EventType.ESCALATION)
    assert "platform's deadline" in event_reason(escalation)


def test_a_closed_or_incomplete_incident_is_not_started(supervisor):
    incomplete = IncidentFactory(message={}, offers=[])
    with pytest.raises(IncidentInvalid) as refused:
        incident_start(incomplete, supervisor)
    assert refused.value.field in {"offers", "message"}
    incomplete.refresh_from_db()
    assert incomplete.status == IncidentStatus.DRAFT

    closed = IncidentFactory()
    type(closed).objects.filter(pk=closed.pk).update(status=IncidentStatus.CLOSED)
    with pytest.raises(IncidentClosed):
        incident_start(closed, supervisor)


def test_an_order_the_opening_refuses_is_skipped_and_the_others_are_opened(supervisor):
    shop = ShopFactory()
    fine = delayed_order(shop=shop)
    refused = delayed_order(shop=shop)
    # Its one item is already in a refund-only request: nothing is left to exchange on that order.
    open_return(refused, refund_only=True)
    incident = IncidentFactory(
        shops=[shop], carrier="", offers=[IncidentOffer.EXCHANGE], alternative_sku="BLUE-M", compensation_amount=None
    )
    incident_start(incident, supervisor)

    result = incident_open_tickets(incident)

    assert result.opened == 1 and len(result.skipped) == 1 and refused.number in result.skipped[0]
    assert IncidentTicket.objects.filter(order=fine).exists()
    assert not IncidentTicket.objects.filter(order=refused).exists()
    # Tried again at the next run (it may become possible), still without a duplicate for the others.
    assert incident_open_tickets(incident).opened == 0


def test_the_tickets_an_incident_opens_announce_nothing_the_incident_tells_its_buyers_itself(supervisor):
    shop = ShopFactory()
    ShopChannels.objects.create(shop=shop, webhook=False, sms=True)
    affected = delayed_order(shop=shop)
    incident = IncidentFactory(shops=[shop])
    incident_start(incident, supervisor)
    incident_open_tickets(incident)
    # A buyer's own ticket on another order of the shop still says it was created.
    own = open_logistics(delayed_order(shop=shop, carrier="ZTO"))

    created = Notification.objects.filter(event=Event.TICKET_CREATED)
    assert list(created.values_list("ticket_id", flat=True).distinct()) == [own.pk]
    opened = Ticket.objects.get(order=affected)
    assert not created.filter(ticket=opened).exists()


def test_beat_runs_the_rescan_and_the_worker_knows_the_tasks(settings):
    from kefu.celery import app as kefu_app

    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "incidents.tasks.incident_rescan_task"]
    assert len(entries) == 1 and float(entries[0]["schedule"]) == settings.KEFU_INCIDENT_RESCAN_SECONDS > 0
    kefu_app.loader.import_default_modules()
    assert {"incidents.tasks.incident_rescan_task", "incidents.tasks.incident_open_tickets_task"} <= set(kefu_app.tasks)
