"""Receivers for the outbound client's tests: real TCP servers in threads that answer as badly as asked.

``tcp_server(handler, host=...)`` accepts connections on ``host`` (port 0) and runs ``handler(conn, server)``
for each in its own thread; ``server.connections`` counts them and ``server.requests`` keeps what each read.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Server:
    host: str
    port: int = 0
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    sent: int = 0  # bytes the handlers managed to send
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def read_request(self, conn: socket.socket) -> bytes:
        """One request (headers and a Content-Length body) from ``conn``; b"" when the client closed it."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return b""
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            body += conn.recv(65536)
        with self.lock:
            self.requests.append(data)
        return data

    def send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        with self.lock:
            self.sent += len(data)


Handler = Callable[[socket.socket, Server], None]


@contextmanager
def tcp_server(handler: Handler, host: str = "127.0.0.1") -> Iterator[Server]:
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, 0))
    listener.listen(16)
    listener.settimeout(0.1)
    server = Server(host=host, port=listener.getsockname()[1])
    stop = threading.Event()

    def serve_one(conn: socket.socket) -> None:
        with conn:
            try:
                handler(conn, server)
            except OSError:
                pass  # the client went away (deadline, body too large)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _addr = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with server.lock:
                server.connections += 1
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def answer(status: str = "200 OK", body: bytes = b'{"ok":true}', headers: tuple[str, ...] = ()) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", "Content-Type: application/json", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def keep_alive(reply: bytes) -> Handler:
    """Answer ``reply`` to every request on the connection until the client closes it."""

    def handle(conn: socket.socket, server: Server) -> None:
        while server.read_request(conn):
            server.send(conn, reply)

    return handle


def trickle(reply: bytes, every: float = 1.0) -> Handler:
    """Read the request, then send ``reply`` one byte every ``every`` seconds (status line included)."""

    def handle(conn: socket.socket, server: Server) -> None:
        server.read_request(conn)
        for byte in reply:
            server.send(conn, bytes([byte]))
            time.sleep(every)

    return handle


def endless(*, declared: int | None = None, total: int = 50 * 1024 * 1024) -> Handler:
    """Read the request, answer 200 and send ``total`` bytes of body as fast as the client takes them."""

    def handle(conn: socket.socket, server: Server) -> None:
        server.read_request(conn)
        head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
        head += f"Content-Length: {declared}\r\n" if declared is not None else "Connection: close\r\n"
        server.send(conn, (head + "\r\n").encode())
        block = b"x" * 65536
        for _ in range(total // len(block)):
            server.send(conn, block)

    return handle
