"""Transactional tests with serialized_rollback run before the other transactional tests (tests/ordering.py)."""

import textwrap

import pytest
from django.conf import settings

INNER_TESTS = textwrap.dedent(
    """
    import pytest

    def test_no_database():
        pass

    @pytest.mark.django_db(transaction=True)
    def test_transactional():
        pass

    @pytest.mark.django_db(transaction=True, serialized_rollback=True)
    def test_transactional_serialized():
        pass

    @pytest.mark.django_db
    def test_database():
        pass
    """
)


def test_serialized_transactional_tests_come_before_the_other_transactional_ones(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(settings.BASE_DIR))
    pytester.makeconftest("from tests.conftest import pytest_collection_modifyitems  # noqa: F401\n")
    pytester.makepyfile(test_inner=INNER_TESTS)

    result = pytester.runpytest_subprocess("--collect-only", "-q", "-p", "no:cacheprovider", "--ds=kefu.settings")

    collected = [line.split("::")[1] for line in result.outlines if line.startswith("test_inner.py::")]
    assert collected == ["test_database", "test_transactional_serialized", "test_transactional", "test_no_database"]
