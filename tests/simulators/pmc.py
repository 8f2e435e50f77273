"""A local Pinduoduo message service (PMC) for the tests: a real WebSocket server in front of the PDD simulator.

The upgrade is refused (HTTP 401) unless the path is ``/message/{client_id}/{timestamp_ms}/{sign}`` with PMC's
signature and a recent timestamp (``PddSimulator.pmc_url_accepted``). Accepted, the connection gets every frame
the PDD simulator has delivered and not seen acknowledged (``PddSimulator.frame``), and each new one as it is
made; an ``Ack`` is checked by ``PddSimulator.ack`` (commandType, id, sendTime, type, mallID); a ``HeartBeat``
makes it send again what was sent at least ``redeliver_after`` seconds ago and is still unacknowledged, and so
does every new connection. ``drop_acks`` loses that many acks; ``kick()`` closes every open connection.
"""

from __future__ import annotations

import http
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

from tests.simulators.pdd import PddSimulator


@dataclass
class PmcSimulator:
    pdd: PddSimulator
    redeliver_after: float = 1.0
    drop_acks: int = 0
    url: str = ""
    sent: list[int] = field(default_factory=list)  # frame ids, re-deliveries included
    acked: list[int] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    connects: int = 0
    heartbeats: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._kicks = 0

    def kick(self) -> None:
        with self._lock:
            self._kicks += 1

    def check(self, ws: ServerConnection, request: Request) -> Response | None:
        """The upgrade's verdict: None (accepted) or a 401 answer."""
        if self.pdd.pmc_url_accepted(f"ws://pmc{request.path}"):
            return None
        with self._lock:
            self.refusals.append(request.path)
        return ws.respond(http.HTTPStatus.UNAUTHORIZED, "sign error\n")

    def handle(self, ws: ServerConnection) -> None:
        with self._lock:
            self.connects += 1
            kicks = self._kicks
        last_sent: dict[int, float] = {}
        try:
            while True:
                with self._lock, self.pdd._lock:
                    if self._kicks != kicks:
                        break
                    due = [frame for number, frame in self.pdd.unacked.items() if number not in last_sent]
                for frame in due:
                    ws.send(json.dumps(frame, ensure_ascii=False))
                    with self._lock:
                        last_sent[int(frame["id"])] = time.monotonic()
                        self.sent.append(int(frame["id"]))
                try:
                    text = ws.recv(timeout=0.05)
                except TimeoutError:
                    continue
                self._client_frame(str(text), last_sent)
        except ConnectionClosed:
            return
        ws.close()

    def _client_frame(self, text: str, last_sent: dict[int, float]) -> None:
        data = json.loads(text)
        with self._lock, self.pdd._lock:
            if data.get("commandType") == "Ack":
                if self.drop_acks > 0:
                    self.drop_acks -= 1
                elif self.pdd.ack(text):
                    self.acked.append(int(data["id"]))
            elif data.get("commandType") == "HeartBeat":
                self.heartbeats += 1
                now = time.monotonic()
                for number in list(last_sent):
                    if number in self.pdd.unacked and now - last_sent[number] >= self.redeliver_after:
                        del last_sent[number]


@contextmanager
def pmc_running(pdd: PddSimulator, **behaviour: Any) -> Iterator[PmcSimulator]:
    """PMC on 127.0.0.1 in a thread (``url``: its ``ws://`` base, as ``KEFU_CONNECTOR_PMC_URL``)."""
    simulator = PmcSimulator(pdd, **behaviour)
    server = serve(simulator.handle, "127.0.0.1", 0, compression=None, process_request=simulator.check)
    simulator.url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield simulator
    finally:
        server.shutdown()
        thread.join(5)
