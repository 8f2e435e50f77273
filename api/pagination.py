"""Cursor pagination: stable under inserts, no COUNT(*) over large tables."""

from rest_framework.pagination import CursorPagination


class TicketCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class QueueCursorPagination(TicketCursorPagination):
    """The staff queue: most urgent due time first (tickets without a clock last)."""

    ordering = ("queue_due", "id")
