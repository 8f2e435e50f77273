"""The indexes every new ticket, timeline entry and message writes (issue 16: the write path's cost on PostgreSQL).

Links that most rows leave empty are indexed only where they are set, and the outbox carries no index that no
query reads: an opening writes fewer index entries, and a lookup by each link (a user's or a shipment's deletion
check, a ticket's follow-ups) still has its index.
"""

import pytest
from django.db import connection

from tests.markers import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db]


def indexes_on(table: str, column: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s ORDER BY indexname",
            [table, f"%btree ({column}%"],
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("tickets_ticket", "origin_id"),
        ("tickets_returnticket", "return_shipment_id"),
        ("tickets_ticketevent", "actor_user_id"),
    ],
)
def test_a_link_most_rows_leave_empty_is_indexed_only_where_it_is_set(table, column):
    (definition,) = indexes_on(table, column)
    assert definition.endswith(f"WHERE ({column} IS NOT NULL)")


def test_the_outbox_has_no_index_no_query_reads():
    assert indexes_on("notifications_notification", "timeline_event_id") == []
    (dedup,) = indexes_on("notifications_notification", "dedup_key")  # the unique constraint's, no LIKE index
    assert dedup.startswith("CREATE UNIQUE INDEX notification_dedup_key_unique ")
