"""The writes of one change sent as one statement, each INSERT and UPDATE composed once per process.

An opening writes a ticket's common row, its kind's row, its lines and its first timeline entry; a transition
updates the ticket and appends its timeline entry. Django sends each as its own statement and composes each
statement's SQL on every call (for a ticket, composing took longer than PostgreSQL took to run it).
:func:`rows_write` takes new rows of a table (:class:`NewRows`) and changed columns of a row (:class:`Changed`):

- each statement is composed by Django's own compilers (``SQLInsertCompiler``, ``SQLUpdateCompiler``), once per
  shape (table, columns, number of rows; for an update also which new values are NULL, which the compiler writes
  as ``NULL``), and each call's values are laid out as the compiler lays them out (an insert's ``pre_save`` then
  ``get_db_prep_save`` and ``assemble_as_sql``; an update's ``get_db_prep_save``, then the WHERE clause's values);
- on PostgreSQL several go as one statement: each a data-modifying ``WITH`` query (all run, once, whatever the final
  query reads), the final query reading back the ids PostgreSQL chose and the rows each update matched. Django
  creates foreign keys ``DEFERRABLE INITIALLY DEFERRED``, so a kind's row may point at its common row written by
  the same statement. Elsewhere (SQLite in development and tests) they are sent in turn.

Like ``bulk_create`` and ``QuerySet.update``: no ``pre_save``/``post_save`` signals and no ``save()`` overrides
run (the models written here have none that matters: ``TicketEvent.save`` only refuses an update), the rows' ids
come back in the order of the rows (as ``bulk_create`` relies on), and expressions are refused as values.

Relies on ``InsertQuery.insert_values``, ``UpdateQuery.add_update_fields``, the compilers' ``as_sql`` and
``SQLInsertCompiler.assemble_as_sql``, and ``Options.db_returning_fields``: Django internals, pinned by
tests/kefu/test_writes.py (the composed statements and values are the compilers' own; the rows read back equal
what ``save``, ``save(update_fields=…)`` and ``bulk_create`` write).
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, Model, Q
from django.db.models.expressions import DatabaseDefault
from django.db.models.fields import NOT_PROVIDED
from django.db.models.sql import InsertQuery, UpdateQuery


@dataclass(frozen=True)
class NewRows:
    """New rows of one table: ``objs`` are instances of ``table`` or of a model inheriting from it (multi-table
    inheritance writes the same object as a row of the parent and a row of the child, each its own ``NewRows``).

    ``table``'s own columns are written (``_meta.local_concrete_fields``). Either every object has its primary key
    (written as given) or none has (the database chooses it, and it is set on each object).
    """

    table: type[Model]
    objs: Sequence[Model]


@dataclass(frozen=True)
class Changed:
    """``fields`` (names of ``table``'s own columns) of ``obj``'s row in ``table`` written from ``obj``, where the
    ``expected`` columns still hold the given values (e.g. ``{"state": "requested"}``, as django-fsm's
    ``ConcurrentTransitionMixin`` checks): ``rows_write`` says how many rows matched (0 or 1)."""

    table: type[Model]
    obj: Model
    fields: Sequence[str]
    expected: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Statement:
    sql: str
    fields: tuple[Field[Any, Any], ...]
    reads_back: bool  # the ids of new rows, or the rows an update matched
    compiler: Any  # the SQLInsertCompiler that composed an insert: its assemble_as_sql lays out each call's values
    plain: bool = False  # an insert whose every value has a plain %s placeholder: its values are the rows' in turn


_composed: dict[tuple[Any, ...], _Statement] = {}
_composed_lock = threading.Lock()


def rows_write(*writes: NewRows | Changed, using: str = DEFAULT_DB_ALIAS) -> list[int]:
    """Write every table's new rows and changed rows, in one statement on PostgreSQL; set the ids the database
    chose on the new objects. Returns, per write, how many rows it wrote (an update: how many matched).

    Must run inside ``transaction.atomic()`` when there is more than one write (elsewhere than PostgreSQL they are
    separate statements). Raises ``TypeError`` for a table whose insert reads back more than its id (a database
    default), a mix of new objects with and without their primary key, or an expression as a value."""
    connection = connections[using]
    sent = [write for write in writes if isinstance(write, Changed) or write.objs]
    counts = dict(zip(map(id, sent), _write(sent, connection, using), strict=True))
    return [counts.get(id(write), 0) for write in writes]


def _write(writes: list[NewRows | Changed], connection: Any, using: str) -> list[int]:
    if not writes:
        return []
    for write in writes:
        if isinstance(write, NewRows):
            _literal_defaults_set(write)
    statements = [_statement_for(write, connection) for write in writes]
    values = [_values(statement, write, connection) for statement, write in zip(statements, writes, strict=True)]
    statements, values = _nulls_inlined(statements, values)
    if connection.vendor == "postgresql" and len(statements) > 1:
        returned = _run_together(statements, values, connection)
    else:
        returned = _run_in_turn(statements, values, connection)
    counts = []
    for statement, write, read in zip(statements, writes, returned, strict=True):
        if isinstance(write, Changed):
            counts.append(len(read))
            continue
        if statement.reads_back:
            for obj, pk_value in zip(write.objs, read, strict=True):
                setattr(obj, write.table._meta.pk.attname, pk_value)
        for obj in write.objs:
            obj._state.adding = False
            obj._state.db = using
        counts.append(len(write.objs))
    return counts


def _literal_defaults_set(rows: NewRows) -> None:
    """A new object's field with a literal ``db_default`` and no value of its own holds ``DatabaseDefault``: give it
    the literal, the value the database would store, so the statement (composed once per shape) and each call's
    values agree on every backend (PostgreSQL's compiler would write ``DEFAULT`` for it, SQLite's the value)."""
    literal = [
        f
        for f in rows.table._meta.local_concrete_fields
        if f.db_default is not NOT_PROVIDED and not hasattr(f.db_default, "resolve_expression")
    ]
    for obj in rows.objs:
        for f in literal:
            if isinstance(getattr(obj, f.attname), DatabaseDefault):
                setattr(obj, f.attname, f.db_default)


def _statement_for(write: NewRows | Changed, connection: Any) -> _Statement:
    if isinstance(write, Changed):
        nulls = tuple(getattr(write.obj, _column(write.table, name).attname) is None for name in write.fields)
        key: tuple[Any, ...] = (connection.alias, write.table, tuple(write.fields), nulls, tuple(write.expected))
        compose: Any = functools.partial(_compose_update, write, connection, nulls)
    else:
        meta = write.table._meta
        with_pk = [getattr(obj, meta.pk.attname) is not None for obj in write.objs]
        if any(with_pk) and not all(with_pk):
            raise TypeError(f"{meta.label}: either every new row has its primary key or none has")
        key = (connection.alias, write.table, len(write.objs), not with_pk[0])
        compose = functools.partial(_compose_insert, write, connection, not with_pk[0])
    statement = _composed.get(key)
    if statement is None:
        with _composed_lock:
            statement = _composed.get(key) or compose()
            _composed[key] = statement
    return statement


def _compose_insert(rows: NewRows, connection: Any, returns_pk: bool) -> _Statement:
    """The table's INSERT for this many rows as Django's compiler writes it (as ``bulk_create`` does)."""
    meta = rows.table._meta
    fields = [f for f in meta.local_concrete_fields if not (returns_pk and f is meta.auto_field)]
    returning = list(meta.db_returning_fields) if returns_pk else []
    if returning not in ([], [meta.pk]):
        raise TypeError(f"{meta.label}: an insert reading back {returning} is not supported")
    query = InsertQuery(rows.table)
    query.insert_values(fields, list(rows.objs))
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = returning
    statements = compiler.as_sql()
    if len(statements) != 1:  # a backend without multi-row inserts
        raise TypeError(f"{meta.label}: {len(rows.objs)} rows do not make one INSERT on {connection.vendor}")
    sql, _params = statements[0]
    placeholders, _rows = compiler.assemble_as_sql(fields, [[None] * len(fields) for _ in rows.objs])
    plain = all(placeholder == "%s" for row in placeholders for placeholder in row)  # not PostgreSQL's UNNEST form
    return _Statement(sql=sql, fields=tuple(fields), reads_back=returns_pk, compiler=compiler, plain=plain)


# Stand-ins for the WHERE clause's values while composing an UPDATE: each must appear once among its parameters.
_PK_STAND_IN = -7_301_101


def _compose_update(change: Changed, connection: Any, nulls: tuple[bool, ...]) -> _Statement:
    """``UPDATE table SET … WHERE pk = %s AND <expected> = %s …`` as ``QuerySet.filter(...).update(...)`` writes
    it (what ``save(update_fields=…)`` runs), its SET values first, then the WHERE clause's."""
    meta = change.table._meta
    fields = tuple(_column(change.table, name) for name in change.fields)
    stand_ins = {name: f"\x00kefu-stand-in-{name}" for name in change.expected}
    query = UpdateQuery(change.table)
    new = [(f, None, None if null else _value_of(change.obj, f)) for f, null in zip(fields, nulls, strict=True)]
    query.add_update_fields(new)  # type: ignore[arg-type]  # the stubs take only expressions; save() passes values
    query.add_q(Q(pk=_PK_STAND_IN, **stand_ins))
    compiler = query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    where = list(params[len(params) - 1 - len(stand_ins) :])
    if where != [_PK_STAND_IN, *stand_ins.values()]:
        raise TypeError(f"{meta.label}: the UPDATE's WHERE values are not where expected: {sql}")
    return _Statement(sql=f"{sql} RETURNING 1", fields=fields, reads_back=True, compiler=compiler)


def _column(table: type[Model], name: str) -> Field[Any, Any]:
    """``table``'s own concrete field ``name`` (an UPDATE of ``table`` writes only its own columns)."""
    f = table._meta.get_field(name)
    if not isinstance(f, Field) or not f.concrete or f.model._meta.concrete_model is not table:
        raise TypeError(f"{table._meta.label}.{name} is not one of {table._meta.label}'s own columns")
    return f


def _value_of(obj: Model, f: Field[Any, Any]) -> Any:
    value = getattr(obj, f.attname)
    if hasattr(value, "resolve_expression"):
        raise TypeError(f"{f}: an expression is not a value rows_write writes")
    return value


def _values(statement: _Statement, write: NewRows | Changed, connection: Any) -> tuple[Any, ...]:
    """This call's values laid out as the composed statement takes them (the compilers' ``as_sql`` steps)."""
    if isinstance(write, Changed):  # the SET values (a NULL is in the statement), then the WHERE clause's
        new = [_value_of(write.obj, f) for f in statement.fields]
        meta = write.table._meta
        where = [(meta.pk, write.obj.pk), *((_column(write.table, name), v) for name, v in write.expected.items())]
        return (
            *(
                f.get_db_prep_save(value, connection=connection)
                for f, value in zip(statement.fields, new, strict=True)
                if value is not None
            ),
            *(f.get_db_prep_value(f.get_prep_value(value), connection, prepared=True) for f, value in where),
        )
    value_rows = []
    for obj in write.objs:
        row = []
        for f in statement.fields:
            value = f.pre_save(obj, add=True)
            if hasattr(value, "resolve_expression"):
                raise TypeError(f"{f}: an expression is not a value rows_write writes")
            row.append(f.get_db_prep_save(value, connection=connection))
        value_rows.append(row)
    if statement.plain:
        return tuple(chain.from_iterable(value_rows))
    _placeholders, param_rows = statement.compiler.assemble_as_sql(list(statement.fields), value_rows)
    return tuple(chain.from_iterable(param_rows))


def _nulls_inlined(
    statements: list[_Statement], values: list[tuple[Any, ...]]
) -> tuple[list[_Statement], list[tuple[Any, ...]]]:
    """Each plain INSERT with ``NULL`` written in its SQL where this call's value is NULL, and those values dropped.

    An opening's one statement then takes 45 parameters instead of 57: psycopg keeps the conversion of a statement
    with at most 50 parameters (``MAX_CACHED_STATEMENT_PARAMS``) and re-parses a larger one on every call. The
    variants are composed once per pattern of NULLs (an opening has a few: with or without an assignee, …)."""
    inlined_statements, inlined_values = [], []
    for statement, params in zip(statements, values, strict=True):
        nulls = tuple(value is None for value in params)
        if statement.plain and any(nulls):
            statement = _nulls_variant(statement, nulls)
            params = tuple(value for value in params if value is not None)
        inlined_statements.append(statement)
        inlined_values.append(params)
    return inlined_statements, inlined_values


# Keyed by the composed statement's id: every _Statement lives as long as the process (in _composed).
_variants: dict[tuple[int, tuple[bool, ...]], _Statement] = {}


def _nulls_variant(statement: _Statement, nulls: tuple[bool, ...]) -> _Statement:
    """``statement`` with its n-th ``%s`` written as ``NULL`` where ``nulls[n]``: a plain INSERT's placeholders are
    its values in order (checked: the SQL has exactly one ``%s`` per value)."""
    variant = _variants.get((id(statement), nulls))
    if variant is not None:
        return variant
    parts = statement.sql.split("%s")
    if len(parts) != len(nulls) + 1:
        raise TypeError(f"{len(nulls)} values but {len(parts) - 1} placeholders in: {statement.sql}")
    sql = parts[0] + "".join(("NULL" if null else "%s") + part for null, part in zip(nulls, parts[1:], strict=True))
    variant = _variants[(id(statement), nulls)] = dataclasses.replace(statement, sql=sql)
    return variant


def _run_together(statements: list[_Statement], values: list[tuple[Any, ...]], connection: Any) -> list[list[Any]]:
    sql = _together_sql(tuple(s.sql for s in statements), tuple(s.reads_back for s in statements))
    with connection.cursor() as cursor:
        cursor.execute(sql, tuple(chain.from_iterable(values)))
        rows = cursor.fetchall() if any(s.reads_back for s in statements) else []
    returned: list[list[Any]] = [[] for _ in statements]
    for index, value in rows:
        returned[index].append(value)
    return returned


@functools.cache
def _together_sql(statements: tuple[str, ...], reads_back: tuple[bool, ...]) -> str:
    """``WITH w0 AS (INSERT …), w1 AS (INSERT … RETURNING id), … SELECT 1, * FROM w1 UNION ALL …``: what each
    statement reads back, with its index, in the order of its rows."""
    ctes = ", ".join(f"w{index} AS ({sql})" for index, sql in enumerate(statements))
    reads = [f"SELECT {index}, * FROM w{index}" for index, reads in enumerate(reads_back) if reads]  # noqa: S608 - names and indexes only: values are parameters
    return f"WITH {ctes} " + (" UNION ALL ".join(reads) if reads else "SELECT 0 WHERE false")


def _run_in_turn(statements: list[_Statement], values: list[tuple[Any, ...]], connection: Any) -> list[list[Any]]:
    returned = []
    with connection.cursor() as cursor:
        for statement, params in zip(statements, values, strict=True):
            cursor.execute(statement.sql, params)
            returned.append([row[0] for row in cursor.fetchall()] if statement.reads_back else [])
    return returned
