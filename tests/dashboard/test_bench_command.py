"""``manage.py bench_dashboard`` at a tiny size: it generates a desk, times every dashboard query and the page,
and cleans up. PostgreSQL only (generate_series, VACUUM, EXPLAIN ANALYZE); the figures are in
docs/performance.md ("Dashboard")."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from orders.models import Order, Shop
from tests.dashboard.support import desk_build
from tests.markers import requires_postgres
from tickets.models import Ticket, TicketEvent, TicketLine


def bench(**options: Any) -> str:
    out = StringIO()
    call_command("bench_dashboard", stdout=out, stderr=StringIO(), repeat=1, **options)
    return out.getvalue()


def row(output: str, label: str) -> str:
    match = re.search(rf"^\| {re.escape(label)} \| (.*) \|$", output, re.MULTILINE)
    assert match, f"no '{label}' row in:\n{output}"
    return match.group(1)


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_tiny_run_generates_times_every_query_and_cleans_up() -> None:
    output = bench(tickets=500, history_days=60)

    assert row(output, "tickets created").startswith("500, opened over the history")
    opened = re.match(r"([\d,]+) \(", row(output, "open now"))
    assert opened and 0 < int(opened[1].replace(",", "")) < 500
    assert re.match(r"[\d,]+, of which [\d,]+ ended a step", row(output, "timeline entries"))
    for name in (
        "open tickets by kind, state, department (+ overdue)",
        "SLA by department and state, 7 days",
        "SLA by department and state, 30 days",
        "tickets per day and kind, 30 days",
        "top reasons by SKU, 7 days",
        "top reasons by SKU, 30 days",
    ):
        assert re.match(
            r"median [\d.]+ ms .*; with the indexes before the dashboard: [\d.]+ ms$", row(output, f"query: {name}")
        )
        assert f"EXPLAIN (ANALYZE, BUFFERS) of {name}:" in output
    assert re.match(r"median \d+ ms .*, \d+ SQL queries", row(output, "whole page, 30 days"))
    assert "The heaviest query is" in output

    assert not Ticket.objects.exists() and not TicketEvent.objects.exists() and not TicketLine.objects.exists()
    assert not Shop.objects.filter(code="bench-dashboard").exists() and not Order.objects.exists()
    # The indexes changed for the "before" figures are back as they were (the transaction was rolled back).
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, "tickets_ticket")
    assert {"ticket_open_idx", "ticket_created_kind_idx"} <= set(indexes)
    with connection.cursor() as cursor:
        events = connection.introspection.get_constraints(cursor, "tickets_ticketevent")
    assert events["ticket_event_step_idx"]["columns"][-1] == "id"


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_refuses_a_database_holding_tickets() -> None:
    desk_build()
    with pytest.raises(CommandError, match="already holds tickets"):
        bench(tickets=10)
    assert Ticket.objects.count() == 7


@pytest.mark.django_db
def test_it_refuses_sqlite() -> None:
    if connection.vendor == "postgresql":
        pytest.skip("the refusal is SQLite's")
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        bench(tickets=10)
