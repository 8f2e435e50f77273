"""``manage.py bench_sweep`` at a tiny size: it generates, finds through ticket_due_idx, processes and cleans up.

On PostgreSQL this runs the generate_series path; on SQLite the row-by-row path (the command refuses more
than 20,000 tickets there). The real figures are in docs/performance.md.
"""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from tickets.models import EventType, ReturnTicket, Ticket, TicketEvent
from tickets.services.deadlines import SWEEP_ACTOR

pytestmark = pytest.mark.django_db


def bench(**options: Any) -> str:
    out = StringIO()
    call_command("bench_sweep", stdout=out, stderr=StringIO(), repeat=2, **options)
    return out.getvalue()


def row(output: str, label: str) -> str:
    """The value of one row of the summary table."""
    match = re.search(rf"^\| {re.escape(label)} \| (.*) \|$", output, re.MULTILINE)
    assert match, f"no '{label}' row in:\n{output}"
    return match.group(1)


def test_a_tiny_run_reports_what_it_generated_found_and_processed():
    output = bench(tickets=200, due_percent=10, process=20)

    assert row(output, "tickets created") == "200"
    assert row(output, "due now").startswith("20 (10.00 %)")
    assert re.match(r"median [\d.]+ ms .*, 20 rows$", row(output, "find due: all due, LIMIT 20"))
    assert row(output, "processed").startswith("20 of 20 asked")
    outcomes = re.fullmatch(r"(\d+) transitioned, (\d+) escalated, 0 skipped, 0 errors", row(output, "outcomes"))
    assert outcomes, row(output, "outcomes")
    transitioned, escalated = int(outcomes[1]), int(outcomes[2])
    assert transitioned > 0 and escalated > 0 and transitioned + escalated == 20
    assert row(output, "acted on once") == "20 timeline entries by the sweep, 0 tickets with more than one"
    assert row(output, "still due") == "0"
    # The plan is printed for both queries (at this size the planner may rightly prefer a sequential scan).
    assert output.count(" of due_ticket_ids, ") == 2 and "tickets_ticket" in output
    # Cleaned up afterwards.
    assert not Ticket.objects.exists()
    assert not TicketEvent.objects.exists()


def test_keep_leaves_the_rows_and_the_next_run_refuses_without_yes():
    bench(tickets=100, due_percent=5, process=5, keep=True)

    assert ReturnTicket.objects.count() == 100
    acting = [EventType.TRANSITION, EventType.ESCALATION]
    acted = TicketEvent.objects.filter(actor_name=SWEEP_ACTOR, event_type__in=acting)
    assert acted.count() == 5
    with pytest.raises(CommandError, match="already holds tickets"):
        bench(tickets=100, process=0)
    assert Ticket.objects.count() == 100

    output = bench(tickets=100, process=0, yes=True)
    assert row(output, "tickets created") == "100"
    assert not Ticket.objects.exists()


def test_without_postgresql_it_refuses_large_sizes():
    if connection.vendor == "postgresql":
        pytest.skip("the limit is for databases other than PostgreSQL")
    with pytest.raises(CommandError, match="needs PostgreSQL for more than 20,000 tickets"):
        bench(tickets=20_001)
    assert not Ticket.objects.exists()
