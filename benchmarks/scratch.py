"""What the scale benchmarks (bench_sweep, bench_dashboard) share: a scratch database's ticket tables, emptied
before and after a run, and the facts about the machine every report starts with.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction

from tickets.models import Ticket

if TYPE_CHECKING:
    from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper


def postgres_connection() -> PostgresWrapper:
    """The default connection, which must be PostgreSQL's (its version, its SQL composition)."""
    from django.db.backends.postgresql.base import DatabaseWrapper  # imports psycopg: PostgreSQL runs only

    wrapper = connections[DEFAULT_DB_ALIAS]
    if not isinstance(wrapper, DatabaseWrapper):
        raise CommandError(f"This needs PostgreSQL, not {wrapper.vendor}.")
    return wrapper


def database_description() -> str:
    cpus = os.cpu_count() or 0
    if connection.vendor == "postgresql":
        major, minor = divmod(postgres_connection().pg_version, 10000)
        return f"PostgreSQL {major}.{minor} ({connection.settings_dict['NAME']}), {cpus} CPUs"
    version = getattr(getattr(connection, "Database", None), "sqlite_version", "")
    return f"{connection.vendor} {version}, {cpus} CPUs"


def machine_load() -> str:
    """The machine's 1/5/15-minute load: other work on the same cores slows every figure down."""
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def ticket_tables(root: type[models.Model] = Ticket) -> list[str]:
    """``tickets_ticket`` (or ``root``'s table) and every table referencing it, directly or through another: what
    TRUNCATE … CASCADE empties, listed so the same set can be deleted where TRUNCATE does not exist (SQLite).
    """
    found: list[type[models.Model]] = [root]
    changed = True
    while changed:
        changed = False
        for model in apps.get_models(include_auto_created=True):
            if model in found or model._meta.proxy or not model._meta.managed:
                continue
            if any(f.is_relation and f.related_model in found for f in model._meta.concrete_fields):
                found.append(model)
                changed = True
    existing = set(connection.introspection.table_names())
    return [m._meta.db_table for m in found if m._meta.db_table in existing]


def tables_hold_rows(tables: list[str]) -> bool:
    # Table names come from the models, not from input.
    probe = " UNION ALL ".join(
        f"SELECT 1 FROM (SELECT 1 FROM {t} LIMIT 1) AS t{i}"  # noqa: S608
        for i, t in enumerate(tables)
    )
    with connection.cursor() as cursor:
        cursor.execute(probe)
        return cursor.fetchone() is not None


def tables_refuse_unless(command: str, tables: list[str], *, yes: bool) -> bool:
    """Refuse to go on when the tables hold rows and ``--yes`` was not given; whether they held rows."""
    holds_rows = tables_hold_rows(tables)
    if holds_rows and not yes:
        raise CommandError(
            f"Database {connection.settings_dict['NAME']} already holds tickets. {command} EMPTIES "
            f"{', '.join(tables)}: run it against a scratch database (DATABASE_URL=…/kefu_bench), or pass "
            "--yes if these rows may go."
        )
    return holds_rows


def tables_empty(tables: list[str]) -> None:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Deferred foreign-key checks still pending in an enclosing transaction would refuse TRUNCATE.
            connection.check_constraints()
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        else:
            with connection.cursor() as cursor:  # foreign keys are checked at commit, so any order works
                for table in tables:
                    cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (table names from the models)


def explain(sql: str, params: Any = None) -> str:
    """The statement's plan: run for real (ANALYZE, BUFFERS) on PostgreSQL, SQLite's query plan elsewhere."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            return "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())
