"""``manage.py bench_api`` at a tiny size, against a real gunicorn on PostgreSQL: it prepares its shop, orders and
tickets, measures the four operations beside the bare endpoints, and every request succeeds. The figures are in
docs/performance.md ("API throughput")."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from tests.markers import requires_postgres
from tickets.models import Ticket


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # needs the shipped reason codes
def test_a_tiny_run_measures_every_operation_without_errors(tmp_path) -> None:
    out, err = StringIO(), StringIO()
    report = tmp_path / "bench.json"
    call_command(
        "bench_api",
        duration=1.0,
        warmup=1.0,
        rounds=1,
        concurrency=2,
        tickets=800,
        orders=20,
        json=str(report),
        stdout=out,
        stderr=err,
    )
    rows = json.loads(report.read_text())
    assert [row["operation"] for row in rows] == ["create", "list (page 20)", "retrieve", "transition"]
    for row in rows:
        assert row["kefu_errors"] == 0 and row["bare_errors"] == 0, (row, err.getvalue())
        assert row["kefu_rps"] > 0 and row["bare_rps"] > 0, row
        assert row["kefu_p50_ms"] <= row["kefu_p99_ms"]
    assert "ratio" in out.getvalue()
    # The creates and cancels went through the real API: new tickets, and cancelled ones.
    assert Ticket.objects.filter(state="cancelled").exists()
    assert Ticket.objects.count() > 800
