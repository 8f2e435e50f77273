"""Several sweeps at the same moment (two beats, or workers picking up the same task) act on each due ticket
exactly once: ``SELECT … FOR UPDATE SKIP LOCKED`` with the due condition repeated (tickets.services.deadlines).

Real threads, each with its own PostgreSQL connection, released together by a barrier (tests/racing.py).
PostgreSQL only (SQLite has no row locks and serialises writers, so nothing would race): skipped
elsewhere, failing in CI (tests/markers.py).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from itertools import cycle, islice

import pytest
import time_machine
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from tests import markers
from tests.factories.desk import staff_member
from tests.factories.tickets import ticket_build
from tests.racing import race
from tickets.models import EventType, Ticket, TicketEvent
from tickets.services.deadlines import SWEEP_ACTOR, SweepResult, sweep_due

# serialized_rollback: departments and reason codes (data migrations) come back after each flush.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

DUE = 60
# Due three days after they started: two platform timeouts (approve) and two internal SLAs (escalate).
DUE_KINDS = [("return", "requested"), ("complaint", "open"), ("exchange", "requested"), ("logistics", "reported")]


@pytest.fixture(autouse=True)
def postgres_only() -> None:
    if connection.vendor != "postgresql":
        markers.require("needs PostgreSQL (CI runs it)")


def build(kind: str, state: str) -> int:
    with transaction.atomic():  # routing locks the team's rows, as inside every service
        return ticket_build(kind, state).pk


def sweeps_at_once(n: int) -> list[SweepResult]:
    """``sweep_due`` in ``n`` threads released at the same moment (tests/racing.py)."""
    # Small batches: the sweeps interleave over many rounds.
    outcomes = race(n, prepare=lambda i: None, act=lambda i, _prepared: sweep_due(batch=10))
    assert [o.trace for o in outcomes if o.error is not None] == []
    return [o.value for o in outcomes]


@pytest.mark.parametrize("sweeps", [2, 4])
def test_concurrent_sweeps_act_on_each_due_ticket_exactly_once(sweeps):
    staff_member("supervisors", username="boss", cap=1000)
    with time_machine.travel(timezone.now() - timedelta(days=3)):
        due = [build(kind, state) for kind, state in islice(cycle(DUE_KINDS), DUE)]
    not_due = [build(kind, state) for kind, state in DUE_KINDS]

    results = sweeps_at_once(sweeps)

    assert len(results) == sweeps
    assert [r.errors for r in results] == [[]] * sweeps
    assert sum(r.acted for r in results) == DUE
    assert sum(r.transitioned for r in results) == DUE // 2
    assert sum(r.escalated for r in results) == DUE // 2
    acted = Counter(
        dict(
            TicketEvent.objects.filter(
                actor_name=SWEEP_ACTOR, event_type__in=[EventType.TRANSITION, EventType.ESCALATION]
            )
            .values_list("ticket_id")
            .annotate(n=Count("pk"))
        )
    )
    assert {pk: acted[pk] for pk in due} == dict.fromkeys(due, 1)
    assert {pk: acted[pk] for pk in not_due} == dict.fromkeys(not_due, 0)
    # The "deadline approaching" notes raced as well: one per due ticket.
    warned = Counter(
        TicketEvent.objects.filter(actor_name=SWEEP_ACTOR, event_type=EventType.WARNING).values_list(
            "ticket_id", flat=True
        )
    )
    assert sum(r.warned for r in results) == DUE
    assert {pk: warned[pk] for pk in due} == dict.fromkeys(due, 1)
    # And nothing is due any more at that moment: a further sweep finds nothing to do.
    assert Ticket.objects.filter(pk__in=due, due_at__lte=timezone.now()).count() == 0
