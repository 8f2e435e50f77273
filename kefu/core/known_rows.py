"""Rows an object already knows, kept where Django's ``prefetch_related`` keeps them.

A ticket just made (or just changed) knows its lines and timeline entries: it wrote them. Keeping them as the
relation's prefetched rows lets the answer read ``ticket.lines.all()`` with no query, as after
``prefetch_related``. This relies on where Django keeps prefetched rows (the instance's
``_prefetched_objects_cache``, a queryset with ``_result_cache`` and ``_prefetch_done``): Django internals, pinned
by tests/kefu/test_known_rows.py, so an upgrade that moves them fails there first.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model


def rows_known(instance: Model, relation: str, rows: list[Any]) -> None:
    """Keep ``rows`` as ``instance``'s ``relation`` (a reverse foreign key) the way ``prefetch_related`` would."""
    queryset = getattr(instance, relation).all()
    queryset._result_cache = rows
    queryset._prefetch_done = True
    cache = getattr(instance, "_prefetched_objects_cache", {})
    instance._prefetched_objects_cache = {**cache, relation: queryset}  # type: ignore[attr-defined]


def rows_known_of(instance: Model, relation: str) -> list[Any] | None:
    """``instance``'s ``relation`` rows if they are known (prefetched or kept by ``rows_known``), else None."""
    known = getattr(instance, "_prefetched_objects_cache", {}).get(relation)
    if known is None:
        return None
    rows: list[Any] = known._result_cache
    return rows
