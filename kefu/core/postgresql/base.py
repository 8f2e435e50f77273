"""Django's PostgreSQL backend (``django.db.backends.postgresql``), with a cheaper health check.

With ``CONN_HEALTH_CHECKS`` Django checks a persistent connection before the first query of every request, by
sending ``SELECT 1``: a round trip to the server on every request, about 0.06 ms of the web process's CPU and
some of PostgreSQL's, more than the rest of a ticket read costs it. Here the check first looks at the connection's
socket without sending anything: an idle connection the server has not written to since its last answer is
alive as far as anything could tell (a ``SELECT 1`` would only find out more by waiting on a network that no
longer answers). When the server has written (its notice that it is shutting down or that it ended the
session, then the end of the stream) or psycopg already knows the connection is closed or broken, Django's own
check runs: ``SELECT 1``, which reads what the server sent and decides. ``ENGINE = "kefu.core.postgresql"``
(kefu/conf/framework.py); tests/kefu/test_postgresql_backend.py ends sessions from the server side.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if _server_wrote(connection.fileno()):
            return bool(super().is_usable())
        return True


def _server_wrote(fd: int) -> bool:
    """Whether the socket has something to read (or is at its end, or in error) without waiting."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))
