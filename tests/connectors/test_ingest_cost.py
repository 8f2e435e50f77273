"""What ingesting one case costs in SQL statements: a new case, the same case again, a changed case.

The pull reads every case of its window again (the windows overlap) and pushes repeat what the pull brings, so an
unchanged case is the common one: one unlocked read. Counted inside the test's transaction, where ingestion's own
``transaction.atomic()`` is a savepoint too (two statements that are BEGIN/COMMIT in production, not counted
there). Where the rest goes (order_upsert's and return_open's savepoints): docs/platforms.md, "What a case costs".
"""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from connectors.platforms import connector_for
from connectors.services.ingest import case_ingest
from tests.simulators.taobao import TaobaoSimulator
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def statements(captured: CaptureQueriesContext) -> tuple[int, int]:
    """(all statements, of which SAVEPOINT / RELEASE SAVEPOINT)."""
    sqls = [q["sql"] for q in captured.captured_queries]
    return len(sqls), sum("SAVEPOINT" in sql for sql in sqls)


@pytest.fixture
def warm(connection, taobao: TaobaoSimulator) -> None:
    """One case ingested first: the process's snapshots (reason codes, policies, routing) are loaded."""
    connector = connector_for(connection)
    case_ingest(connection=connection, snapshot=connector.fetch(taobao.create("refund_only")["refund_id"]))


def test_a_new_case_costs_24_statements_on_postgresql_and_the_same_case_again_one(connection, taobao, warm):
    connector = connector_for(connection)
    snapshot = connector.fetch(taobao.create("return_refund")["refund_id"])

    with CaptureQueriesContext(db) as new:
        outcome = case_ingest(connection=connection, snapshot=snapshot, connector=connector).outcome
    with CaptureQueriesContext(db) as again:
        repeated = case_ingest(connection=connection, snapshot=snapshot, connector=connector).outcome

    assert (outcome, repeated) == ("created", "stale")
    assert Ticket.objects.filter(order__number=snapshot.order_id).count() == 1
    # 1 read of the case, its insert (2 savepoint statements around it: two first sights race on the unique
    # constraint), the order looked up, order_upsert (buyer, order, line: 11, 6 of them savepoints), return_open (6
    # on PostgreSQL, 2 savepoints: the ticket's rows, its line and its event are one statement there, kefu.core.writes;
    # 9 elsewhere), the case's update, and the test transaction's savepoint around ingestion (2).
    assert statements(new) == ((24, 12) if db.vendor == "postgresql" else (28, 12))
    assert statements(again) == (1, 0)  # one unlocked read: the snapshot is not newer, nothing is locked


def test_a_changed_deadline_costs_10_statements(connection, taobao, warm):
    connector = connector_for(connection)
    refund = taobao.create("return_refund", deadline_hours=30)
    case_ingest(connection=connection, snapshot=connector.fetch(refund["refund_id"]), connector=connector)
    taobao.refunds[refund["refund_id"]]["refund_remind_timeout"]["timeout"] = "2030-01-01 00:00:00"
    taobao._touch(taobao.refunds[refund["refund_id"]])  # the platform extended the merchant's deadline
    snapshot = connector.fetch(refund["refund_id"])

    with CaptureQueriesContext(db) as changed:
        outcome = case_ingest(connection=connection, snapshot=snapshot, connector=connector).outcome

    assert outcome == "updated"
    assert Ticket.objects.get(platform_case__case_id=refund["refund_id"]).platform_due_at == snapshot.merchant_deadline
    # The unlocked read, the case locked (its ticket's common row joined, not locked), the ticket locked, its
    # deadline updated, the timeline entry, the case's update; savepoints: the test's and the deadline service's.
    assert statements(changed) == (10, 4)
