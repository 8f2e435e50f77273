"""Querysets composed once per process and run many times with new values.

Django composes a queryset's SQL on every run: for the few small, fixed-shape statements on the hot paths of the
API (an opening's lock of its order's lines and what other tickets hold of them; a change's version lock)
composing took three to four times as long as PostgreSQL took to run the statement. A :class:`PreparedQuery`
composes the queryset once, with placeholder values, and then runs the same SQL with the real values in their
place: the statement is still the ORM's own, written in one place (the queryset), and PostgreSQL prepares it too
after a few runs (``DATABASE_PREPARE_THRESHOLD``).

Only for querysets whose SQL does not depend on the values (no ``__in`` lists, no optional filters), on the default
database (kefu has one). A placeholder must appear exactly once among the composed parameters, which is checked
when composing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]  # not in the stubs

M = TypeVar("M", bound=Model)


class PreparedQuery(Generic[M]):
    """``build(**placeholders)`` composed once; ``objects(**values)`` and ``rows(**values)`` run it.

    ``placeholders`` name each value and give a stand-in that its field accepts and nothing else in the
    statement uses (e.g. ``order_id=-7_301_001``; a positive integer field needs a positive one).
    """

    def __init__(self, build: Callable[..., QuerySet[M, Any]], **placeholders: Any) -> None:
        self._build = build
        self._placeholders = placeholders
        self._composed: tuple[type[M], str, tuple[Any, ...], dict[str, int]] | None = None
        self._builder: _InstanceBuilder | None = None
        self._lock = threading.Lock()

    def _compose(self) -> tuple[type[M], str, tuple[Any, ...], dict[str, int]]:
        with self._lock:
            if self._composed is not None:  # another thread composed it meanwhile
                return self._composed
            queryset = self._build(**self._placeholders)
            try:
                # A SELECT … FOR UPDATE is only composed inside a transaction; nothing is sent (no savepoint).
                with transaction.atomic(using=DEFAULT_DB_ALIAS, savepoint=False):
                    sql, params = queryset.query.sql_with_params()
            except EmptyResultSet as exc:  # e.g. a negative stand-in for a positive integer field
                raise ValueError(f"A stand-in in {self._placeholders} is not a value its field accepts") from exc
            positions = {}
            for name, stand_in in self._placeholders.items():
                found = [i for i, param in enumerate(params) if param == stand_in]
                if len(found) != 1:
                    raise ValueError(f"Placeholder {name}={stand_in!r} appears {len(found)} times in: {sql}")
                positions[name] = found[0]
            self._builder = _InstanceBuilder(queryset)
            self._composed = (queryset.model, sql, tuple(params), positions)
            return self._composed

    def _statement(self, values: dict[str, Any]) -> tuple[type[M], str, list[Any]]:
        if values.keys() != self._placeholders.keys():
            raise TypeError(f"Expected values for {sorted(self._placeholders)}, got {sorted(values)}")
        model, sql, params, positions = self._composed or self._compose()
        filled = list(params)
        for name, value in values.items():
            filled[positions[name]] = value
        return model, sql, filled

    def objects(self, **values: Any) -> list[M]:
        """The rows as model instances (annotations as attributes), like iterating the queryset."""
        model, sql, params = self._statement(values)
        return list(model._default_manager.raw(sql, params))

    def instances(self, **values: Any) -> list[M]:
        """The rows as the queryset's own iteration builds them: model instances with their ``select_related``
        objects attached and the fields' converters applied (what ``objects`` cannot do: ``raw`` reads one
        model)."""
        _model, sql, params = self._statement(values)
        builder = self._builder
        if builder is None:  # set with _composed, by _statement
            raise RuntimeError("PreparedQuery composed without its instance builder")
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute(sql, params)
            return builder.build(cursor.fetchall())

    def rows(self, **values: Any) -> list[tuple[Any, ...]]:
        """The rows as tuples of the selected columns (for a ``values_list`` queryset)."""
        _model, sql, params = self._statement(values)
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute(sql, params)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
            return rows


class _InstanceBuilder:
    """What Django's ``ModelIterable`` works out from a compiled queryset before reading its rows (the select
    list, the main model's columns, the populators of ``select_related`` objects, the converters), worked out
    once, and the same per-row steps: ``Model.from_db``, each related populator, the annotations.

    Relies on the compiler's ``select``, ``klass_info``, ``annotation_col_map``, ``get_converters`` and
    ``apply_converters`` and on ``django.db.models.query.get_related_populators``: Django internals, pinned by
    tests/kefu/test_prepared.py (the instances equal the queryset's own, related objects and converted values
    included), so a Django upgrade that changes them fails there first.
    """

    def __init__(self, queryset: QuerySet[Any]) -> None:
        compiler = queryset.query.get_compiler(using=DEFAULT_DB_ALIAS)
        with transaction.atomic(using=DEFAULT_DB_ALIAS, savepoint=False):
            compiler.as_sql()  # fills select, klass_info and annotation_col_map
        self._compiler = compiler
        klass_info = compiler.klass_info
        if klass_info is None:
            raise TypeError("A values() or values_list() queryset has no instances: use rows()")
        self._model: type[Model] = klass_info["model"]
        select_fields = klass_info["select_fields"]
        self._start, self._end = select_fields[0], select_fields[-1] + 1
        self._init_list = [column[0].target.attname for column in compiler.select[self._start : self._end]]
        self._related = get_related_populators(klass_info, compiler.select, DEFAULT_DB_ALIAS)
        self._annotations = dict(compiler.annotation_col_map or {})
        self._converters = compiler.get_converters([column[0] for column in compiler.select[: compiler.col_count]])

    def build(self, rows: list[tuple[Any, ...]]) -> list[Any]:
        if self._converters:
            rows = list(self._compiler.apply_converters(rows, self._converters))
        found = []
        for row in rows:
            obj = self._model.from_db(DEFAULT_DB_ALIAS, self._init_list, row[self._start : self._end])
            for populator in self._related:
                populator.populate(row, obj)
            for name, position in self._annotations.items():
                setattr(obj, name, row[position])
            found.append(obj)
        return found
