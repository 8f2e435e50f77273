"""Run transactional tests with ``serialized_rollback=True`` before the other transactional tests.

pytest-django runs database tests first, then transactional tests (``transaction=True``), in collection order.
A transactional test without serialized rollback ends with a flush followed by ``post_migrate``, which
recreates content types and permissions under new ids. A later test with ``serialized_rollback=True`` then
reloads the rows saved after migrating, with their old ids, and collides with the recreated ones
(``duplicate key ... django_content_type_app_label_model``). A test with serialized rollback ends with a
flush and no ``post_migrate``, so running all of those first means each reload meets either the migrated
database or an empty one.

tests/conftest.py registers :func:`pytest_collection_modifyitems` as a hook.
"""

import pytest


def _transactional(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", ())
    return bool(
        (marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")))
        or "transactional_db" in fixtures
        or "live_server" in fixtures
    )


def _serialized(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    return bool(
        (marker and marker.kwargs.get("serialized_rollback"))
        or getattr(getattr(item, "cls", None), "serialized_rollback", False)
        or "django_db_serialized_rollback" in getattr(item, "fixturenames", ())
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Reorder the transactional tests in place (after pytest-django's own ordering), serialized ones first."""
    slots = [index for index, item in enumerate(items) if _transactional(item)]
    ordered = sorted((items[index] for index in slots), key=lambda item: not _serialized(item))
    for index, item in zip(slots, ordered, strict=True):
        items[index] = item
