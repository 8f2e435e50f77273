"""Claims and transitions of one ticket at the same moment, on PostgreSQL: they lock the same rows in the same
statement (tickets.services.assignment.ticket_claim through tickets.locks.ticket_lock), so they queue
instead of deadlocking. Before, a claim locked the common ticket row alone and then both rows, while a transition locked
both rows at once: each could hold the half the other waited for ("deadlock detected")."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kefu.core.errors import Conflict
from tests.factories.orders import OrderLineFactory
from tests.markers import requires_postgres
from tests.racing import race, split, staff
from tickets.actors import Actor
from tickets.errors import TicketChanged, TransitionNotAllowed
from tickets.models import EventType, ReturnTicket, TicketEvent
from tickets.selectors import ticket_replayed_state
from tickets.services import return_open, ticket_act
from tickets.services.assignment import ticket_claim
from tickets.types import LineRequest

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.mark.parametrize("attempt", range(3))
def test_claims_and_approvals_of_one_ticket_at_once_never_deadlock(attempt: int) -> None:
    line = OrderLineFactory(quantity=2, unit_price=Decimal("50.00"))
    ticket = return_open(
        order=line.order,
        actor=Actor.for_buyer(line.order.buyer),
        lines=[LineRequest(sku=line.sku, quantity=1)],
        reason_code="quality_problem",
    )
    people = [staff(f"ops-{attempt}-{i}", "operations") for i in range(6)]

    def act(i: int, copy: ReturnTicket):
        if i % 2:
            return ticket_claim(ticket=copy, actor=people[i])
        return ticket_act(ticket=copy, actor=people[i], action="approve")

    outcomes = race(6, prepare=lambda i: ReturnTicket.objects.get(pk=ticket.pk), act=act)

    # Only the refusals a stale copy gets: changed meanwhile, or no longer in a state to approve/claim.
    done, refused = split(outcomes, TicketChanged, TransitionNotAllowed, Conflict)
    assert done, "someone must get through"
    assert all(isinstance(o.error, Conflict) for o in refused)
    approvals = TicketEvent.objects.filter(ticket_id=ticket.pk, event_type=EventType.TRANSITION, transition="approve")
    assert approvals.count() <= 1
    ticket.refresh_from_db()
    assert ticket_replayed_state(ticket=ticket) == ticket.state
    changes = TicketEvent.objects.filter(ticket_id=ticket.pk, event_type__in=[EventType.TRANSITION, "assignment"])
    assert ticket.version == changes.exclude(actor_kind="system").count()  # one version per change that won
