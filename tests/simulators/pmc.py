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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection

from tests.simulators.pdd import PddSimulator
from tests.simulators.push_server import PushServer, Session, serving


@dataclass
class PmcSimulator(PushServer):
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
        super().__post_init__()
        self._lock = self.pdd._lock  # one lock with the PDD simulator, which adds frames to ``unacked``

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
        self.deliver(ws, Session())

    def pending(self) -> dict[int, Any]:
        return self.pdd.unacked

    def encode(self, message: Any) -> str:
        return json.dumps(message, ensure_ascii=False)

    def client_frame(self, data: str | bytes, session: Session) -> None:
        text = data if isinstance(data, str) else data.decode()
        body = json.loads(text)
        with self._lock:
            if body.get("commandType") == "Ack":
                if self.drop_acks > 0:
                    self.drop_acks -= 1
                elif self.pdd.ack(text):
                    self.acked.append(int(body["id"]))
            elif body.get("commandType") == "HeartBeat":
                self.heartbeats += 1
                session.expire(self.pdd.unacked, self.redeliver_after)


@contextmanager
def pmc_running(pdd: PddSimulator, **behaviour: Any) -> Iterator[PmcSimulator]:
    """PMC on 127.0.0.1 in a thread (``url``: its ``ws://`` base, as ``KEFU_CONNECTOR_PMC_URL``)."""
    simulator = PmcSimulator(pdd, **behaviour)
    with serving(simulator.handle, process_request=simulator.check) as address:
        simulator.url = address
        yield simulator
