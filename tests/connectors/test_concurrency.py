"""A push and a pull of the same new case at the same moment, on PostgreSQL: one case, one ticket, one entry."""

from __future__ import annotations

import pytest

from connectors.models import PlatformCase
from connectors.platforms import connector_for
from connectors.services.ingest import case_ingest
from tests.markers import requires_postgres
from tests.racing import race
from tickets.models import EventType, TicketEvent

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.mark.parametrize("attempt", range(2))
def test_the_same_new_case_ingested_twice_at_once_opens_one_ticket(attempt, connection, taobao):
    refund = taobao.create("return_refund")
    snapshot = connector_for(connection).fetch(refund["refund_id"])

    outcomes = race(3, prepare=lambda i: None, act=lambda i, _: case_ingest(connection=connection, snapshot=snapshot))

    assert [o.error for o in outcomes] == [None, None, None], [o.trace for o in outcomes]
    assert sorted(o.value.outcome for o in outcomes) == ["created", "stale", "stale"]
    case = PlatformCase.objects.get(case_id=refund["refund_id"])
    assert case.ticket is not None
    assert TicketEvent.objects.filter(ticket_id=case.ticket_id, event_type=EventType.CREATED).count() == 1
