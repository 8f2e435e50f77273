"""``manage.py bench_incident`` at a tiny size: it seeds, previews, opens one ticket per order, runs again without
opening more, moves the deadlines, and cleans up. The real figures (50,000 orders, PostgreSQL) are in the docs."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from benchmarks.incident_data import BENCH_CODE
from incidents.models import Incident
from orders.models import Order, Shop
from tests.factories.desk import open_logistics
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def row(output: str, label: str) -> str:
    match = re.search(rf"^\| {re.escape(label)} \| (.*) \|$", output, re.MULTILINE)
    assert match, f"no '{label}' row in:\n{output}"
    return match.group(1)


def test_a_tiny_run_opens_one_ticket_per_order_and_cleans_up():
    out = StringIO()
    call_command("bench_incident", orders=30, chunk=7, stdout=out, stderr=StringIO())
    output = out.getvalue()

    assert row(output, "orders seeded").startswith("30 in ")
    assert row(output, "preview").startswith("30 orders, 30 buyers, 20 shown")
    assert re.match(r"30 in [\d.]+ s = [\d,]+ tickets/s with one worker", row(output, "tickets opened"))
    assert row(output, "linked, flagged, skipped") == "0, 0, 0"
    assert row(output, "exactly one ticket per order") == (
        "yes: 30 affected orders, 30 tickets, 0 orders with more than one"
    )
    assert row(output, "second run (re-scan, nothing new)").startswith("0 opened")
    assert re.match(r"30 tickets in [\d.]+ s .*, 0 capped", row(output, "deadlines moved by 24 h"))
    assert re.match(r"30 in [\d.]+ s = [\d,]+ buyers/s, one worker", row(output, "buyers told, rate lifted"))
    # 30 buyers at the default 600 a minute: 3 s, unless the worker is slower.
    assert re.match(
        r"[\d.]+ min after the tickets were opened \(the rate: 0\.1 min; ",
        row(output, "every buyer told at 600 a minute"),
    )
    assert not Ticket.objects.exists() and not Incident.objects.exists()
    assert not Shop.objects.filter(code=BENCH_CODE).exists() and not Order.objects.exists()


def test_it_refuses_a_database_that_holds_tickets_and_keeps_them():
    ticket = open_logistics()
    with pytest.raises(CommandError, match="already holds tickets"):
        call_command("bench_incident", orders=5, stdout=StringIO(), stderr=StringIO())
    assert list(Ticket.objects.values_list("pk", flat=True)) == [ticket.pk]


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the limit is SQLite's")
def test_more_orders_than_sqlite_takes_are_refused():
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("bench_incident", orders=5_001, stdout=StringIO(), stderr=StringIO())
