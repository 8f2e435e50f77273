"""A kept-alive HTTP(S) connection to one checked address, every read bounded by the request's total deadline."""

from __future__ import annotations

import http.client
import io
import select
import socket
import ssl
import threading
import time
from collections import OrderedDict
from typing import Any

from kefu.core.outbound.addresses import Address, Target

# Idle keep-alive connections one thread keeps (least recently used dropped first).
POOL_SIZE = 16


class Deadline:
    """A point on the monotonic clock; ``remaining()`` raises TimeoutError once it has passed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline")
        return left


class _DeadlineReader(io.RawIOBase):
    """Reads from the socket, each read waiting at most until the request's deadline (not a fresh timeout per
    read: a 1 byte/s trickle fails at the deadline, headers and body alike)."""

    def __init__(self, view: _SocketView, deadline: Deadline) -> None:
        super().__init__()
        self._view = view
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        sock = self._view.sock
        sock.settimeout(self._deadline.remaining())
        return sock.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._view.reader_closed()
        super().close()


class _SocketView:
    """What http.client sees as the connection's socket: the real one, whose reads go through the deadline.

    Like a socket's ``makefile``, an open reader keeps the socket open: http.client closes the connection as
    soon as it sees ``Connection: close``, before the body is read.
    """

    def __init__(self, connection: PinnedConnection, sock: socket.socket) -> None:
        self._connection = connection
        self.sock = sock
        self._readers = 0
        self._closing = False
        self._held: list[bytes] | None = None

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        self._readers += 1
        return io.BufferedReader(_DeadlineReader(self, self._connection.deadline))

    def reader_closed(self) -> None:
        self._readers -= 1
        if self._closing and not self._readers:
            self.sock.close()

    def sendall(self, data: Any) -> None:
        if self._held is not None:
            self._held.append(bytes(data))
            return
        self.sock.settimeout(self._connection.deadline.remaining())  # total for the whole sendall (3.5+)
        self.sock.sendall(data)

    def hold(self) -> None:
        """Collect what is sent until ``release``: http.client sends the headers and the body separately, two
        packets where one does (with TCP_NODELAY the receiver may even answer between them)."""
        self._held = []

    def release(self) -> None:
        held, self._held = self._held, None
        if held:
            self.sendall(b"".join(held))

    def close(self) -> None:
        self._closing = True
        if not self._readers:
            self.sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


class PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to one checked address; the host name is used for Host, SNI and the certificate."""

    def __init__(self, target: Target, family: int, address: Address, context: ssl.SSLContext | None) -> None:
        super().__init__(target.host, target.port)
        self.family = family
        self.address = address
        self.context = context
        self.deadline = Deadline(0.0)
        self.raw_socket: socket.socket | None = None
        self.view: _SocketView | None = None

    def connect(self) -> None:
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self.deadline.remaining())
            sock.connect((str(self.address), self.port))
            if self.context is not None:
                sock.settimeout(self.deadline.remaining())
                sock = self.context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.raw_socket = sock
        self.view = _SocketView(self, sock)
        self.sock = self.view

    def send_request(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> None:
        """The request line, headers and body in one send (the socket is connected already)."""
        view = self.view
        if view is None:  # connect() was not called
            self.connect()
            view = self.view
        assert view is not None  # noqa: S101 - connect() sets it
        view.hold()
        try:
            self.request(method, path, body=body, headers=headers)
        except BaseException:
            view._held = None
            raise
        view.release()

    def close(self) -> None:
        super().close()
        self.raw_socket = None
        self.view = None

    def dropped(self) -> bool:
        """True when the idle connection was closed by the other side (or has unexpected data waiting)."""
        if self.raw_socket is None:
            return True
        try:
            readable, _w, _x = select.select([self.raw_socket], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)


_tls_context: ssl.SSLContext | None = None


def _tls() -> ssl.SSLContext:
    """Certificate checks with the CA bundle requests uses (certifi) when present, else the system's."""
    global _tls_context
    if _tls_context is None:
        try:
            import certifi

            cafile: str | None = certifi.where()
        except ImportError:
            cafile = None
        _tls_context = ssl.create_default_context(cafile=cafile)
    return _tls_context


class _Pool(threading.local):
    def __init__(self) -> None:
        self.idle: OrderedDict[tuple[str, str, str, int], PinnedConnection] = OrderedDict()


_pool = _Pool()


def take(target: Target, family: int, address: Address) -> tuple[PinnedConnection, bool]:
    """An idle kept-alive connection for this target and address (reused=True), else a new one."""
    key = (target.scheme, target.host, str(address), target.port)
    connection = _pool.idle.pop(key, None)
    if connection is not None and not connection.dropped():
        return connection, True
    if connection is not None:
        connection.close()
    context = _tls() if target.scheme == "https" else None
    return PinnedConnection(target, family, address, context), False


def give_back(target: Target, connection: PinnedConnection) -> None:
    key = (target.scheme, target.host, str(connection.address), target.port)
    _pool.idle[key] = connection
    while len(_pool.idle) > POOL_SIZE:
        _old_key, old = _pool.idle.popitem(last=False)
        old.close()


def close_idle_connections() -> None:
    """Close this thread's kept-alive connections (tests; a worker about to fork)."""
    while _pool.idle:
        _key, connection = _pool.idle.popitem()
        connection.close()
