"""``manage.py bench_connectors`` pulls a small seeded simulator end to end: every case a ticket, sane figures."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command

from connectors.models import PlatformCase, ShopConnection
from orders.models import Shop
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

ROW = re.compile(
    r"^\s+(?P<name>new|unchanged)\s+(?P<snapshots>[\d,]+)\s+(?P<outcomes>.+?)\s+(?P<seconds>[\d.]+)\s+"
    r"(?P<rate>[\d.]+)\s+(?P<per_snapshot>[\d.]+)\s+(?P<per_new>[\d.]+|nan)\s+(?P<pages>[\d,]+)$",
    re.MULTILINE,
)


def test_200_pulled_cases_become_200_tickets_and_the_figures_add_up() -> None:
    out = io.StringIO()
    call_command("bench_connectors", cases=200, keep=True, stdout=out)
    report = out.getvalue()

    rows = {m["name"]: m for m in ROW.finditer(report)}
    assert set(rows) == {"new", "unchanged"}, report
    new, unchanged = rows["new"], rows["unchanged"]
    assert new["outcomes"] == "created 200" and unchanged["outcomes"] == "stale 200"
    assert int(new["snapshots"]) == int(unchanged["snapshots"]) == 200  # 200 s of cases: one window, no overlap
    assert float(new["rate"]) > 0 and float(unchanged["rate"]) > float(new["rate"])
    # A new case: its order, its ticket, its case row (test_ingest_cost has the exact count); an unchanged one: one
    # read, plus the connection's own read once per pull.
    assert 20 <= float(new["per_new"]) <= 30
    assert float(unchanged["per_snapshot"]) == pytest.approx(1.0, abs=0.01)
    assert "every one a ticket: True" in report
    assert re.search(r"peak memory of this process: \d+ MiB", report)

    cases = PlatformCase.objects.filter(connection__shop__code="bench-connectors")
    assert cases.count() == 200 and not cases.filter(ticket__isnull=True).exists()
    assert Ticket.objects.filter(shop__code="bench-connectors", platform_due_at__isnull=False).count() == 200


def test_without_keep_the_rows_go_and_a_database_with_tickets_is_refused(db) -> None:
    call_command("bench_connectors", cases=20, stdout=io.StringIO())
    assert not Shop.objects.filter(code="bench-connectors").exists() and not ShopConnection.objects.exists()
    assert not Ticket.objects.exists()

    call_command("bench_connectors", cases=5, keep=True, stdout=io.StringIO())
    with pytest.raises(CommandError, match="already holds tickets"):
        call_command("bench_connectors", cases=5, stdout=io.StringIO())
