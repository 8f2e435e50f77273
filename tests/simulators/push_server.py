"""What the WebSocket push simulators (tmc.py, pmc.py) share: serving in a thread, and one connection's delivery
loop: every unacknowledged message is sent once per connection, sent again when the client's keep-alive comes
``redeliver_after`` seconds or more after it (:meth:`Session.expire`), until the client acknowledges it;
``kick()`` closes every open connection."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve


@dataclass
class Session:
    """One open connection: what was sent on it and when."""

    token: str = ""
    last_sent: dict[int, float] = field(default_factory=dict)

    def expire(self, pending: dict[int, Any], after: float) -> None:
        """Let what is still pending and was sent ``after`` seconds ago or more be sent again."""
        now = time.monotonic()
        for number in list(self.last_sent):
            if number in pending and now - self.last_sent[number] >= after:
                del self.last_sent[number]


class PushServer:
    """The delivery loop; a subclass says what is pending, how a message is framed and what a client frame does."""

    redeliver_after: float
    sent: list[int]

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._kicks = 0

    def kick(self) -> None:
        with self._lock:
            self._kicks += 1

    def pending(self) -> dict[int, Any]:
        raise NotImplementedError

    def encode(self, message: Any) -> str | bytes:
        raise NotImplementedError

    def client_frame(self, data: str | bytes, session: Session) -> None:
        raise NotImplementedError

    def deliver(self, ws: ServerConnection, session: Session) -> None:
        """Send what is due and hand each client frame over, until the client leaves or ``kick()``."""
        with self._lock:
            kicks = self._kicks
        try:
            while True:
                with self._lock:
                    if self._kicks != kicks:
                        break
                    due = [(n, m) for n, m in self.pending().items() if n not in session.last_sent]
                for number, message in due:
                    ws.send(self.encode(message))
                    with self._lock:
                        session.last_sent[number] = time.monotonic()
                        self.sent.append(number)
                try:
                    data = ws.recv(timeout=0.05)
                except TimeoutError:
                    continue
                self.client_frame(data, session)
        except ConnectionClosed:
            return
        ws.close()


@contextmanager
def serving(handler: Callable[[ServerConnection], None], **options: Any) -> Iterator[str]:
    """A WebSocket server on 127.0.0.1 in a thread; yields its ``ws://host:port`` address."""
    server = serve(handler, "127.0.0.1", 0, compression=None, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}"
    finally:
        server.shutdown()
        thread.join(5)
