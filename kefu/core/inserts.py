"""New rows of several tables written in one statement, with INSERTs composed once per process.

An opening writes a ticket's common row, its kind's row, its lines and its first timeline entry; Django sends
each as its own INSERT and composes each statement's SQL on every call (for a ticket, composing took longer than
PostgreSQL took to run it). :func:`rows_insert` takes the rows of each table (:class:`Rows`) and:

- composes each table's INSERT with Django's own compiler (``SQLInsertCompiler``), once per shape (table,
  columns, number of rows), and fills in each call's values the way the compiler does (every field's ``pre_save``
  then ``get_db_prep_save``, the compiler's ``assemble_as_sql``);
- on PostgreSQL sends them all as one statement: each INSERT a data-modifying ``WITH`` query (all run, once,
  whatever the final query reads), and the final query reads back the ids PostgreSQL chose. Django creates
  foreign keys ``DEFERRABLE INITIALLY DEFERRED``, so a kind's row may point at its common row written by the same
  statement. Elsewhere (SQLite in development and tests) each table's INSERT is sent in turn.

Like ``bulk_create``: no ``pre_save``/``post_save`` signals and no ``save()`` overrides run (the models written
here have none that matters: ``TicketEvent.save`` only refuses an update), the rows' ids come back in the order
of the rows (as ``bulk_create`` relies on), and expressions are refused as values.

Relies on ``InsertQuery.insert_values``, ``SQLInsertCompiler.as_sql`` and ``assemble_as_sql``, and on
``Options.db_returning_fields``: Django internals, pinned by tests/kefu/test_inserts.py (the composed statement
and values are the compiler's own; the rows read back equal what ``save``/``bulk_create`` write).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, Model
from django.db.models.sql import InsertQuery


@dataclass(frozen=True)
class Rows:
    """New rows of one table: ``objs`` are instances of ``table`` or of a model inheriting from it (multi-table
    inheritance writes the same object as a row of the parent and a row of the child, each its own ``Rows``).

    ``table``'s own columns are written (``_meta.local_concrete_fields``). Either every object has its primary key
    (written as given) or none has (the database chooses it, and it is set on each object).
    """

    table: type[Model]
    objs: Sequence[Model]


@dataclass(frozen=True)
class _Insert:
    sql: str
    fields: tuple[Field, ...]
    returns_pk: bool
    compiler: Any  # the SQLInsertCompiler that composed ``sql``: its assemble_as_sql lays out each call's values


_composed: dict[tuple[Any, ...], _Insert] = {}
_composed_lock = threading.Lock()


def rows_insert(*tables: Rows, using: str = DEFAULT_DB_ALIAS) -> None:
    """Insert every table's rows, in one statement on PostgreSQL; set the ids the database chose on the objects.

    Must run inside ``transaction.atomic()`` when more than one table is written (elsewhere than PostgreSQL they
    are separate statements). Raises ``TypeError`` for a table whose insert reads back more than its id (a
    database default), or a mix of objects with and without their primary key."""
    tables = tuple(rows for rows in tables if rows.objs)
    if not tables:
        return
    connection = connections[using]
    inserts = [_insert_for(rows, connection) for rows in tables]
    values = [_values(insert, rows, connection) for insert, rows in zip(inserts, tables, strict=True)]
    if connection.vendor == "postgresql":
        returned = _run_together(inserts, values, connection)
    else:
        returned = _run_in_turn(inserts, values, connection)
    for insert, rows, ids in zip(inserts, tables, returned, strict=True):
        pk = rows.table._meta.pk
        for obj, pk_value in zip(rows.objs, ids, strict=True) if insert.returns_pk else ():
            setattr(obj, pk.attname, pk_value)
        for obj in rows.objs:
            obj._state.adding = False
            obj._state.db = using


def _insert_for(rows: Rows, connection: Any) -> _Insert:
    meta = rows.table._meta
    with_pk = [getattr(obj, meta.pk.attname) is not None for obj in rows.objs]
    if any(with_pk) and not all(with_pk):
        raise TypeError(f"{meta.label}: either every row has its primary key or none has")
    returns_pk = not with_pk[0]
    key = (connection.alias, rows.table, len(rows.objs), returns_pk)
    insert = _composed.get(key)
    if insert is None:
        with _composed_lock:
            insert = _composed.get(key) or _compose(rows, connection, returns_pk)
            _composed[key] = insert
    return insert


def _compose(rows: Rows, connection: Any, returns_pk: bool) -> _Insert:
    """The table's INSERT for this many rows as Django's compiler writes it (as ``bulk_create`` does)."""
    meta = rows.table._meta
    fields = [field for field in meta.local_concrete_fields if not (returns_pk and field is meta.auto_field)]
    returning = list(meta.db_returning_fields) if returns_pk else []
    if returning not in ([], [meta.pk]):
        raise TypeError(f"{meta.label}: an insert reading back {returning} is not supported")
    query = InsertQuery(rows.table)
    query.insert_values(fields, rows.objs)
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = returning
    statements = compiler.as_sql()
    if len(statements) != 1:  # a backend without multi-row inserts
        raise TypeError(f"{meta.label}: {len(rows.objs)} rows do not make one INSERT on {connection.vendor}")
    sql, _params = statements[0]
    return _Insert(sql=sql, fields=tuple(fields), returns_pk=returns_pk, compiler=compiler)


def _values(insert: _Insert, rows: Rows, connection: Any) -> tuple[Any, ...]:
    """This call's values laid out as the composed statement takes them (``SQLInsertCompiler.as_sql``'s steps)."""
    value_rows = []
    for obj in rows.objs:
        row = []
        for field in insert.fields:
            value = field.pre_save(obj, add=True)
            if hasattr(value, "resolve_expression"):
                raise TypeError(f"{field}: an expression is not a value rows_insert writes")
            row.append(field.get_db_prep_save(value, connection=connection))
        value_rows.append(row)
    _placeholders, param_rows = insert.compiler.assemble_as_sql(list(insert.fields), value_rows)
    return tuple(chain.from_iterable(param_rows))


def _run_together(inserts: list[_Insert], values: list[tuple[Any, ...]], connection: Any) -> list[list[Any]]:
    sql = _together_sql(tuple(insert.sql for insert in inserts), tuple(insert.returns_pk for insert in inserts))
    with connection.cursor() as cursor:
        cursor.execute(sql, tuple(chain.from_iterable(values)))
        rows = cursor.fetchall() if any(insert.returns_pk for insert in inserts) else []
    returned: list[list[Any]] = [[] for _ in inserts]
    for index, pk in rows:
        returned[index].append(pk)
    return returned


@functools.cache
def _together_sql(statements: tuple[str, ...], returns: tuple[bool, ...]) -> str:
    """``WITH i0 AS (INSERT …), i1 AS (INSERT … RETURNING id), … SELECT 1, id FROM i1 UNION ALL …``: each read-back
    id with the index of its table, in the order of its rows."""
    ctes = ", ".join(f"i{index} AS ({sql})" for index, sql in enumerate(statements))
    reads = [f"SELECT {index}, * FROM i{index}" for index, returns_pk in enumerate(returns) if returns_pk]
    return f"WITH {ctes} " + (" UNION ALL ".join(reads) if reads else "SELECT 0 WHERE false")


def _run_in_turn(inserts: list[_Insert], values: list[tuple[Any, ...]], connection: Any) -> list[list[Any]]:
    returned = []
    with connection.cursor() as cursor:
        for insert, params in zip(inserts, values, strict=True):
            cursor.execute(insert.sql, params)
            returned.append([row[0] for row in cursor.fetchall()] if insert.returns_pk else [])
    return returned
