"""``manage.py bench_incident_tell`` at a tiny size: it tells every buyer once, reports the capacity and the time at
the incident's rate, and cleans up. The real figures (50,000 orders, PostgreSQL) are in the report."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command

from incidents.models import Incident
from notifications.models import Notification
from orders.models import Order
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def row(output: str, label: str) -> str:
    match = re.search(rf"^\| {re.escape(label)} \| (.*) \|$", output, re.MULTILINE)
    assert match, f"no '{label}' row in:\n{output}"
    return match.group(1)


def test_a_tiny_run_tells_every_buyer_once_and_cleans_up():
    out = StringIO()
    call_command("bench_incident_tell", orders=30, rate=12, stdout=out, stderr=StringIO())
    output = out.getvalue()
    assert re.match(
        r"30 in [\d.]+ s = [\d,]+ buyers/s with one worker, 1 batches", row(output, "buyers told, rate lifted")
    )
    assert row(output, "outbox rows (SMS)") == "30"
    assert row(output, "every buyer told at 12 a minute").startswith("2.5 min (the rate: 2.5 min;")
    assert re.match(r"\d+ ms, 4 queries \(matched 30, told 30\)", row(output, "progress figures"))
    assert not Ticket.objects.exists() and not Incident.objects.exists() and not Order.objects.exists()
    assert not Notification.objects.exists()
