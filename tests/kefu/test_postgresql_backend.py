"""kefu.core.postgresql: the per-request health check looks at the socket and sends nothing while the server has
said nothing; when the server ended the session, the check finds it and the next query runs on a new
connection; a message the server sent on a live connection (a NOTIFY) is not taken for its end."""

from __future__ import annotations

import time

import pytest
from django.db import connection, connections

from kefu.core.postgresql.base import DatabaseWrapper, _server_wrote
from tests.markers import requires_postgres
from tickets.models import Ticket

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def other():
    """A second connection to the same database, to look at and act on the first from the server's side."""
    wrapper = connections.create_connection("default")
    yield wrapper
    wrapper.close()


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def last_statement(other, pid: int) -> str:
    with other.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0]


def until_the_server_wrote(timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not _server_wrote(connection.connection.fileno()):
        assert time.monotonic() < deadline, "the server's message never reached the socket"
        time.sleep(0.01)


def test_the_backend_is_kefus():
    assert isinstance(connections["default"], DatabaseWrapper)
    assert connection.health_check_enabled


def test_a_live_connection_is_usable_without_a_round_trip(other):
    pid = backend_pid()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'the last statement sent'")
    for _ in range(3):
        connection.health_check_done = False
        connection.close_if_health_check_failed()
        assert connection.connection is not None and not connection.connection.closed
    assert last_statement(other, pid) == "SELECT 'the last statement sent'"  # no SELECT 1 reached the server


def test_a_session_the_server_ended_is_found_and_the_next_query_reconnects(other):
    pid = backend_pid()
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    until_the_server_wrote()
    assert connection.is_usable() is False
    connection.health_check_done = False
    connection.close_if_health_check_failed()  # what Django runs before a request's first query
    assert connection.connection is None
    assert Ticket.objects.count() == 0  # on a new connection
    assert backend_pid() != pid


def test_a_notification_on_a_live_connection_is_not_taken_for_its_end(other):
    pid = backend_pid()
    with connection.cursor() as cursor:
        cursor.execute("LISTEN kefu_health_check_test")
    with other.cursor() as cursor:
        cursor.execute("NOTIFY kefu_health_check_test, 'hello'")
    until_the_server_wrote()
    assert connection.is_usable() is True  # asked the server (SELECT 1), which answered
    assert last_statement(other, pid) == "SELECT 1"
    with connection.cursor() as cursor:
        cursor.execute("UNLISTEN *")
