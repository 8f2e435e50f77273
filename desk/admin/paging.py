"""Counting tickets for the list's pages without counting the whole table.

``COUNT(*)`` over 100,000+ rows reads every row (PostgreSQL keeps no row count), on every page view of the
admin list. The list needs only "how many pages, roughly". So:

- the unfiltered list on PostgreSQL takes the planner's estimate (``pg_class.reltuples``, kept by
  autovacuum/ANALYZE) once it is above ``COUNT_CAP``;
- anything else counts at most ``COUNT_CAP + 1`` rows (``SELECT COUNT(*) FROM (… LIMIT cap+1)``) and says
  "more than" past that: filters and the search narrow a real queue down far below it.

One query either way (two on PostgreSQL below the cap: the estimate, then the exact small count).
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

COUNT_CAP = 10_000


class CountKind:
    EXACT = "exact"
    ESTIMATED = "estimated"
    CAPPED = "capped"


class TicketPaginator(Paginator):
    """A paginator whose ``count`` is exact up to ``COUNT_CAP``, an estimate or a floor beyond it."""

    count_kind = CountKind.EXACT

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            raise TypeError(f"TicketPaginator pages a queryset, not {type(queryset).__name__}")
        if not queryset.query.where:
            estimate = self._table_estimate(queryset)
            if estimate is not None and estimate > COUNT_CAP:
                self.count_kind = CountKind.ESTIMATED
                return estimate
        counted = queryset.order_by()[: COUNT_CAP + 1].count()
        if counted > COUNT_CAP:
            self.count_kind = CountKind.CAPPED
            return COUNT_CAP
        return counted

    @staticmethod
    def _table_estimate(queryset: QuerySet) -> int | None:
        """PostgreSQL's estimate of the table's rows; None elsewhere or before the first ANALYZE (-1)."""
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [queryset.model._meta.db_table]
            )
            row = cursor.fetchone()
        return int(row[0]) if row and row[0] is not None and row[0] >= 0 else None
