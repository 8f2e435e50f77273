"""``manage.py bench_queue`` at a tiny size: it generates open tickets, times every view's page and fragment for
both users, and cleans up. The real figures (10,000 open tickets) are in docs/desk.md ("Working the queue")."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from desk.admin.queue import VIEWS
from tests.markers import requires_postgres
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def row(output: str, label: str) -> str:
    match = re.search(rf"^\| {re.escape(label)} \| (.*) \|$", output, re.MULTILINE)
    assert match, f"no '{label}' row in:\n{output}"
    return match.group(1)


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # VACUUM runs outside transactions; reason codes
def test_a_tiny_run_times_every_view_for_both_users_and_cleans_up():
    out = StringIO()
    call_command("bench_queue", tickets=300, repeat=2, agents=2, stdout=out, stderr=StringIO())
    output = out.getvalue()

    assert row(output, "open tickets").startswith("300 of 300 generated")
    for who in ("supervisor", "operations agent"):
        for view in ("all", *(v.code for v in VIEWS)):
            for kind in ("page", "fragment"):
                assert re.match(
                    r"p50 \d+ ms, p95 \d+ ms, max \d+ ms \(2 runs\); \d+ SQL queries, \d+ rows",
                    row(output, f"{who}: {view} ({kind})"),
                )
    assert re.match(r"p95 under 300 ms in every view: (yes|NO)", row(output, "budget"))
    assert not Ticket.objects.exists()
    assert not get_user_model().objects.filter(username__startswith="bench-queue-").exists()


def test_it_needs_postgresql():
    if connection.vendor == "postgresql":
        pytest.skip("the refusal is SQLite's")  # runs (and counts) on the default SQLite suite
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("bench_queue", tickets=10, stdout=StringIO())
