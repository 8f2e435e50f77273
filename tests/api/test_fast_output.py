"""The hand-built output rows (api.ticket_output.FastOutput) are exactly what DRF's own field-by-field rendering
of the same declared fields gives: same keys, same order, same values, for every kind and caller."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from api import selectors
from api import ticket_output as out
from tests.api.conftest import staff, url
from tests.factories.orders import ShipmentFactory
from tests.markers import requires_postgres
from tickets.actors import Actor
from tickets.models import Ticket
from tickets.selectors import tickets_as_kinds

pytestmark = pytest.mark.django_db

SERIALIZERS = [
    out.TicketOutSerializer,
    out.TicketDetailOutSerializer,
    out.StaffTicketOutSerializer,
    out.StaffTicketDetailOutSerializer,
]


@pytest.fixture
def tickets(shop_a) -> list[Ticket]:
    made = [
        shop_a.ticket("return", "requested"),
        shop_a.ticket("return", "closed"),
        shop_a.ticket("exchange", "requested", replacement_sku="SKU-B", replacement_name="蓝色 L"),
        shop_a.ticket("complaint", "open"),
        shop_a.ticket("logistics", "reported", compensation_amount="12.30"),
    ]
    in_transit = shop_a.ticket("return", "awaiting_return")
    shipment = ShipmentFactory(order=in_transit.order, direction="return", tracking_number="SF-FAST-1")
    type(in_transit).objects.filter(pk=in_transit.pk).update(return_shipment=shipment)
    made.append(in_transit)
    agent = staff("supervisors")
    for ticket in made:  # timeline entries of every audience: public and internal, buyer and staff
        agent.client.post(
            url("staff-ticket-comment", number=ticket.number), {"body": "内部备注", "public": False}, format="json"
        )
        shop_a.client.post(url("ticket-comment", number=ticket.number), {"body": "where is it?"}, format="json")
        agent.client.post(
            url("staff-ticket-assign", number=ticket.number), {"assignee": agent.user.username}, format="json"
        )
    return made


@pytest.mark.parametrize("serializer_class", SERIALIZERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("public", [True, False])
@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC"])  # +08:00, and UTC written as Z
def test_fast_rows_equal_drf_rendering(tickets, serializer_class, public, zone, settings):
    settings.TIME_ZONE = zone
    loaded = tickets_as_kinds(tickets)
    assert {t.kind for t in loaded} == {"return", "exchange", "complaint", "logistics"}
    context = {
        "actor_for": lambda t: Actor.for_buyer(t.buyer),
        "lines": selectors.lines_by_ticket(loaded),
        "public": public,
    }
    for ticket in loaded:
        context["timeline"] = selectors.timeline(ticket, public_only=public)
        serializer = serializer_class(context=context)
        fast = serializer.to_representation(ticket)
        drf = serializers.Serializer.to_representation(serializer, ticket)
        assert list(fast.items()) == list(drf.items())
    # The fixture is not trivial: lines, timeline entries, a shipment and an assignee are all rendered.
    detail = out.StaffTicketDetailOutSerializer(context=context).to_representation(loaded[-1])
    assert detail["lines"] and len(detail["timeline"]) >= 2 and detail["assignee"]
    assert detail["details"]["return_shipment"]["tracking_number"] == "SF-FAST-1"


def test_fast_timeline_rows_equal_drf_rendering(tickets):
    for public in (True, False):
        serializer = out.TimelineEventSerializer(context={"public": public})
        for event in selectors.timeline(tickets[0], public_only=False):
            fast = serializer.to_representation(event)
            assert list(fast.items()) == list(serializers.Serializer.to_representation(serializer, event).items())


@requires_postgres
def test_lines_in_one_written_out_statement_equal_the_orm_reading(tickets):
    """On PostgreSQL a page's lines come from one written-out statement (api.selectors._lines_sql): the same
    skus, names (not ASCII), quantities and exact amounts as the ORM reads, in the same order, per ticket."""
    from decimal import Decimal

    from tests.factories.orders import OrderLineFactory
    from tickets.models import TicketLine

    line = TicketLine.objects.filter(ticket=tickets[0]).select_related("order_line").first()
    line.order_line.name = "羊毛大衣 “冬季” 款"
    line.order_line.save(update_fields=["name"])
    TicketLine.objects.filter(pk=line.pk).update(refunded_amount=Decimal("1234567890.07"))
    for sku in ("SKU-Z", "SKU-Y"):  # a second and third line, added after the first
        TicketLine.objects.create(
            ticket=tickets[0], order_line=OrderLineFactory(order=tickets[0].order, sku=sku), quantity=2
        )
    loaded = tickets_as_kinds(tickets)
    expected: dict[int, list] = {}
    for ticket_id, *shown in (
        TicketLine.objects.filter(ticket__in=tickets)
        .order_by("order_line_id")
        .values_list("ticket_id", "order_line__sku", "order_line__name", "quantity", "refunded_amount")
    ):
        expected.setdefault(ticket_id, []).append(selectors.ShownLine(*shown))
    assert selectors.lines_by_ticket(loaded) == expected
    first = expected[tickets[0].pk]
    assert [shown.sku for shown in first][1:] == ["SKU-Z", "SKU-Y"]
    assert (first[0].name, first[0].refunded_amount) == ("羊毛大衣 “冬季” 款", Decimal("1234567890.07"))


@requires_postgres
@pytest.mark.parametrize("public", [True, False])
def test_answer_rows_in_one_statement_equal_the_orm_reading(tickets, public):
    """On PostgreSQL an answer's lines and timeline come in one written-out statement (api.selectors.answer_rows):
    the same rows, in the same order, as the ORM reads (lines_by_ticket, timeline), for the buyer's audience
    (internal entries left out) and staff's, with a name that is not ASCII and an exact amount."""
    from decimal import Decimal

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets.models import TicketLine

    line = TicketLine.objects.filter(ticket=tickets[0]).select_related("order_line").first()
    line.order_line.name = "羊毛大衣 “冬季” 款"
    line.order_line.save(update_fields=["name"])
    TicketLine.objects.filter(pk=line.pk).update(refunded_amount=Decimal("1234567890.07"))
    fields = (
        "event_type",
        "created_at",
        "actor_kind",
        "actor_name",
        "transition",
        "from_state",
        "to_state",
        "reason",
        "public",
    )
    for made in tickets:
        ticket = Ticket.objects.get(pk=made.pk)
        with CaptureQueriesContext(connection) as queries:
            lines, events = selectors.answer_rows(ticket, public_only=public)
        assert len(queries) == 1
        assert lines == selectors.lines_by_ticket([ticket])[ticket.pk]
        expected = selectors.timeline(ticket, public_only=public)
        assert [tuple(getattr(e, f) for f in fields) for e in events] == [
            tuple(getattr(e, f) for f in fields) for e in expected
        ]
        assert len(expected) >= (2 if public else 4)  # created and the buyer's comment; staff also see theirs
    first, _ = selectors.answer_rows(Ticket.objects.get(pk=tickets[0].pk), public_only=public)
    assert (first[0].name, first[0].refunded_amount) == ("羊毛大衣 “冬季” 款", Decimal("1234567890.07"))
