"""The PMC bridge: Pinduoduo's message service held open for one app (client id), refund messages into the inbox.

PMC is a WebSocket whose URL carries the signature (``connectors.platforms.pdd_pmc.pmc_url``: a refused one is
answered with an HTTP error before the upgrade). Frames are JSON text; :func:`pmc_receive` says what each one
means: a ``Common`` frame's refund message is stored for the mall it names (``mallID`` = the connection's shop
id on PDD), then its ``Ack`` is sent; other message types are acknowledged and dropped; ``Fail`` is logged. A
heartbeat goes out every ``heartbeat`` seconds (pdd-rs: 5 s). Run by ``manage.py connectors_pmc``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from websockets.sync.client import ClientConnection

from connectors.base import Platform
from connectors.bridges.runner import Bridge, Delivery
from connectors.models import ShopConnection
from connectors.platforms.pdd_pmc import PMC_BASE_URL, pmc_heartbeat, pmc_receive, pmc_url

logger = logging.getLogger("connectors.bridges")


class PmcBridge(Bridge):
    platform = Platform.PDD

    def __init__(
        self, connections: Sequence[ShopConnection], *, url: str = PMC_BASE_URL, heartbeat: float = 5.0, **options: Any
    ) -> None:
        super().__init__(connections, url=url.rstrip("/"), **options)
        self.heartbeat = heartbeat
        self._beat_at = 0.0

    def connect_url(self) -> str:
        self._beat_at = time.monotonic()
        return pmc_url(self.app_key, self.secret, int(time.time() * 1000), base=self.url)

    def read(self, frame: str | bytes) -> list[Delivery]:
        outcome = pmc_receive(frame, now_ms=int(time.time() * 1000))
        if outcome.command == "Fail":
            logger.error("PMC reported a failure for app %s: %s", self.app_key, outcome.error)
            return []
        if outcome.error:
            raise ValueError(outcome.error)
        if not outcome.messages:
            return [Delivery(ack=outcome.ack)] if outcome.ack else []
        message = outcome.messages[0]
        mall = str((message.raw.get("message") or {}).get("mallID", ""))
        return [Delivery(shop_id=mall, message=message, ack=outcome.ack)]

    def periodic(self, ws: ClientConnection, now: float) -> None:
        if self.heartbeat and now - self._beat_at >= self.heartbeat:
            ws.send(pmc_heartbeat(int(time.time() * 1000)))
            self._beat_at = now
