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
        assert row["kefu_rps"] > 0 and row["bare_rps"] > 0, (row, out.getvalue(), err.getvalue())
        assert row["kefu_p50_ms"] <= row["kefu_p99_ms"]
    assert "ratio" in out.getvalue()
    # The creates and cancels went through the real API: new tickets, and cancelled ones.
    assert Ticket.objects.filter(state="cancelled").exists()
    assert Ticket.objects.count() > 800


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_cancels_stop_at_the_prepared_tickets_and_never_cancel_one_twice(tmp_path) -> None:
    # 20 tickets to cancel, 10 per client: the clients send more than that in 2.5 s on any machine, unthrottled.
    # Cancelling a ticket twice is a 409; a run that used up its tickets says so instead.
    out, err = StringIO(), StringIO()
    report = tmp_path / "bench.json"
    call_command(
        "bench_api",
        duration=2.0,
        warmup=0.5,
        rounds=1,
        concurrency=2,
        workers=2,
        tickets=40,
        orders=20,
        operations="transition",
        json=str(report),
        stdout=out,
        stderr=err,
    )
    [row] = json.loads(report.read_text())
    assert row["kefu_errors"] == 0 and row["bare_errors"] == 0, (row, err.getvalue())
    assert row["kefu_ran_out"] and not row["bare_ran_out"], row
    assert "transition ran past the prepared tickets" in err.getvalue()
    assert "run again with --tickets" in err.getvalue()
    assert Ticket.objects.filter(state="cancelled").count() == 20
    assert Ticket.objects.filter(state="requested").count() == 20
