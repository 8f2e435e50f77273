"""The TMC bridge: Taobao's message channel held open for one app, its refund messages into kefu's inbox.

The conversation (frames: ``connectors.bridges.tmc_frames``): open the WebSocket, send the signed CONNECT, wait
for CONNECTACK (its token; a status code means refused), then for each SEND frame from TMC store the message
(``taobao_refund_*`` topics; others are confirmed and dropped) and confirm it with its id. Every
``pull_interval`` seconds a PullRequest asks TMC for what is waiting (the SDK's compensation for lost pushes).
Run by ``manage.py connectors_tmc`` (docs/platforms.md, "TMC bridge").
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from websockets.sync.client import ClientConnection

from connectors.base import Platform
from connectors.bridges import tmc_frames as tmc
from connectors.bridges.runner import Bridge, Delivery, Refused
from connectors.models import ShopConnection


class TmcBridge(Bridge):
    platform = Platform.TAOBAO

    def __init__(
        self,
        connections: Sequence[ShopConnection],
        *,
        url: str = tmc.TMC_URL,
        group_name: str = "default",
        pull_interval: float = 30.0,
        **options: Any,
    ) -> None:
        super().__init__(connections, url=url, **options)
        self.group_name = group_name
        self.pull_interval = pull_interval
        self.token = ""
        self._pulled_at = 0.0

    def connect_url(self) -> str:
        return self.url

    def handshake(self, ws: ClientConnection) -> None:
        now_ms = int(time.time() * 1000)
        ws.send(tmc.connect_frame(self.app_key, self.secret, self.group_name, now_ms))
        answer = ws.recv(timeout=self.open_timeout)
        if not isinstance(answer, bytes):
            raise ValueError("TMC answered CONNECT with a text frame")
        frame = tmc.decode(answer)
        if frame.message_type != tmc.CONNECTACK:
            raise ValueError(f"TMC answered CONNECT with message type {frame.message_type}")
        if frame.status_code or not frame.token:
            raise Refused(f"{frame.status_code}: {frame.status_phrase or 'no token'}")
        self.token = frame.token
        self._pulled_at = time.monotonic()

    def read(self, frame: str | bytes) -> list[Delivery]:
        if not isinstance(frame, bytes):
            raise ValueError("TMC sends binary frames")
        decoded = tmc.decode(frame)
        if decoded.message_type != tmc.SEND:
            return []  # SENDACK and CONNECTACK carry nothing to store
        nick, message = tmc.data_message(decoded)
        ack = tmc.confirm_frame(self.token, int(decoded.headers["id"]))
        return [Delivery(shop_id=nick, message=message, ack=ack)]

    def periodic(self, ws: ClientConnection, now: float) -> None:
        if self.pull_interval and now - self._pulled_at >= self.pull_interval:
            ws.send(tmc.pull_request_frame(self.token))
            self._pulled_at = now
