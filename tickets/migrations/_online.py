"""Migration operations shared by the tickets migrations (0004, 0006, 0007, 0008): index changes that do not
lock the ticket tables against writes on PostgreSQL (built and dropped ``CONCURRENTLY``; such a migration is
``atomic = False``). Elsewhere (SQLite) they are Django's plain operations.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations
from django.db.migrations.operations.base import Operation


def _postgresql(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


class _ConcurrentlyOnPostgreSQL:
    """The concurrent operation on PostgreSQL, elsewhere ``plain`` (Django's own, which locks the table)."""

    plain: type[Operation]

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if _postgresql(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            self.plain.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if _postgresql(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            self.plain.database_backwards(self, app_label, schema_editor, from_state, to_state)


class AddIndexOnline(_ConcurrentlyOnPostgreSQL, AddIndexConcurrently):
    """AddIndex, concurrently where the database can (PostgreSQL)."""

    plain = migrations.AddIndex


class RemoveIndexOnline(_ConcurrentlyOnPostgreSQL, RemoveIndexConcurrently):
    """RemoveIndex, concurrently where the database can (PostgreSQL)."""

    plain = migrations.RemoveIndex


def _single_column_indexes(schema_editor, table: str, column: str, *, like: bool) -> list[str]:
    """Names of the plain (not unique) indexes on ``column`` alone: Django's own, or its ``_like`` companion."""
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(cursor, table)
    return [
        name
        for name, c in constraints.items()
        if c["index"] and not c["unique"] and not c["primary_key"] and c["columns"] == [column]
        and name.endswith("_like") == like
    ]


class DropFieldIndexOnline(migrations.AlterField):
    """AlterField for a field that loses its own index (``db_index=False``) because a wider index covers it.

    On PostgreSQL the field's index is dropped concurrently; the state change is AlterField's. Backwards, and
    on other databases, it is AlterField.
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not _postgresql(schema_editor):
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        column = model._meta.get_field(self.name).column
        named = {index.name for index in model._meta.indexes}  # the model's own indexes stay
        for name in _single_column_indexes(schema_editor, model._meta.db_table, column, like=False):
            if name not in named:
                schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        # AlterField's backwards runs its forwards with the states swapped: here, its own (index rebuilt).
        migrations.AlterField.database_forwards(self, app_label, schema_editor, from_state, to_state)


class DropLikeIndexOnline(Operation):
    """Drop the ``varchar_pattern_ops`` index PostgreSQL's backend adds beside a unique or indexed CharField
    (for ``LIKE 'x%'``), when the column is only ever looked up whole. Nothing to do on other databases."""

    reversible = True
    atomic = False

    def __init__(self, model_name: str, name: str):
        self.model_name, self.name = model_name, name

    def state_forwards(self, app_label, state):
        pass  # Django's model state does not list these indexes

    def deconstruct(self):
        return self.__class__.__name__, [], {"model_name": self.model_name, "name": self.name}

    def _table_and_column(self, app_label, state) -> tuple[str, str]:
        model = state.apps.get_model(app_label, self.model_name)
        return model._meta.db_table, model._meta.get_field(self.name).column

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not _postgresql(schema_editor):
            return
        table, column = self._table_and_column(app_label, to_state)
        for name in _single_column_indexes(schema_editor, table, column, like=True):
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if not _postgresql(schema_editor):
            return
        table, column = self._table_and_column(app_label, to_state)
        name = schema_editor._create_index_name(table, [column], suffix="_like")
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {schema_editor.quote_name(name)} "
            f"ON {schema_editor.quote_name(table)} ({schema_editor.quote_name(column)} varchar_pattern_ops)"
        )

    def describe(self) -> str:
        return f"Drop the LIKE index of {self.model_name}.{self.name}"
