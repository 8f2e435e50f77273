"""Starts of one incident at the same moment, on PostgreSQL (each racer with its own connection): the incident's
row lock and the unique (incident, order) constraint leave exactly one ticket per affected order, whether the
racers start the incident, run its opening task, or re-scan; and also while the scope is widened between them."""

from __future__ import annotations

import pytest

from incidents.models import Incident, IncidentTicket
from incidents.services import incident_open_tickets, incident_rescan, incident_start
from tests.factories.incidents import IncidentFactory, delayed_order
from tests.factories.orders import ShopFactory
from tests.factories.tickets import supervisor_actor
from tests.markers import requires_postgres
from tests.racing import race
from tickets.models import Ticket

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def affected(n: int, **fields):
    shop = ShopFactory()
    orders = [delayed_order(shop=shop, **fields) for _ in range(n)]
    return shop, orders


@pytest.mark.parametrize("attempt", range(2))
def test_concurrent_starts_open_one_ticket_per_order(attempt: int) -> None:
    shop, orders = affected(24)
    incident = IncidentFactory(shops=[shop])
    supervisor = supervisor_actor()

    def act(i: int, copy: Incident):
        incident_start(copy, supervisor)
        copy.refresh_from_db()
        # Small chunks, so the racers' chunks interleave.
        if i % 3 == 2:
            return incident_rescan().opened
        return incident_open_tickets(copy, chunk_size=5).opened

    outcomes = race(4, prepare=lambda i: Incident.objects.prefetch_related("shops").get(pk=incident.pk), act=act)

    assert [o.trace for o in outcomes if o.error] == []
    assert sum(o.value for o in outcomes) == 24  # every order opened once, by whichever racer got there
    assert IncidentTicket.objects.filter(incident=incident).count() == 24
    assert Ticket.objects.filter(order__in=orders).count() == 24


def test_concurrent_starts_while_the_scope_widens_never_duplicate() -> None:
    shop, hangzhou = affected(10, origin_region="浙江省/杭州市")
    ningbo = [delayed_order(shop=shop, origin_region="浙江省/宁波市") for _ in range(10)]
    incident = IncidentFactory(shops=[shop], origin_region="浙江省/杭州市")
    supervisor = supervisor_actor()
    incident_start(incident, supervisor)

    def act(i: int, copy: Incident):
        if i == 0:  # the supervisor widens the scope and starts again while the others run the narrow one
            copy.origin_region = "浙江省"
            copy.save(update_fields=["origin_region"])
            incident_start(copy, supervisor)
        return incident_open_tickets(copy, chunk_size=3).opened

    outcomes = race(3, prepare=lambda i: Incident.objects.prefetch_related("shops").get(pk=incident.pk), act=act)

    assert [o.trace for o in outcomes if o.error] == []
    assert IncidentTicket.objects.filter(incident=incident).count() == 20
    assert Ticket.objects.filter(order__in=[*hangzhou, *ningbo]).count() == 20
    assert sum(o.value for o in outcomes) == 20
