"""What every push bridge does, whatever the platform's frames: hold the WebSocket, store, confirm, reconnect.

A bridge serves one app (one app key: TMC and PMC deliver every authorised shop's messages over the app's one
connection) and the shop connections that use it, found by the shop id each message names. For each frame the
platform sends, the subclass says which messages it carries and which acknowledgement to send back
(:meth:`Bridge.read`); the runner stores the messages in the durable inbox (``InboxMessage``, one committed
transaction, a message id seen before stored once) and only then sends the acknowledgement. A message kefu could
not store is not acknowledged: the platform sends it again. Processing (fetch + ingest) is the inbox task's.

The connection is reopened after any failure with exponential backoff and jitter (``backoff_base`` doubling up to
``backoff_max``, ±20 %); a session that got past the handshake starts the count again. A refused handshake (a bad
signature, an unknown app) is logged as an error and retried at the longest delay: an operator has to fix the
credentials, and the bridge picks them up on the next attempt (connections are re-read from the database).
"""

from __future__ import annotations

import abc
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.db import DatabaseError, close_old_connections, transaction
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection

from connectors.base import PushMessage
from connectors.bridges.guarded import open_websocket
from connectors.models import ShopConnection
from connectors.services.sync import inbox_store
from kefu.core.outbound import OutboundError, mask_secrets

logger = logging.getLogger("connectors.bridges")


class Refused(Exception):
    """The platform refused the connection (its handshake answer); the message says why."""


@dataclass(frozen=True)
class Delivery:
    """What one frame asks of the bridge: store ``message`` (for the shop ``shop_id``), then send ``ack``."""

    shop_id: str = ""
    message: PushMessage | None = None
    ack: str | bytes | None = None


@dataclass
class BridgeStats:
    sessions: int = 0  # handshakes that succeeded
    stored: int = 0  # messages handed to the inbox (duplicates included: the inbox keeps one)
    acknowledged: int = 0
    foreign: int = 0  # messages for a shop no active connection of this app has (acknowledged, not stored)
    refused: int = 0  # handshakes the platform refused
    failures: int = 0  # sessions that ended on an error
    last_error: str = ""
    events: list[str] = field(default_factory=list)  # "connected", "refused", "closed", …: for logs and tests


class Bridge(abc.ABC):
    """One app's push connection. Subclasses speak the platform's frames (``connectors.bridges.tmc``/``pmc``)."""

    platform: str
    tick = 0.5  # seconds a receive waits before the periodic work (heartbeat, pull request) is looked at

    def __init__(
        self,
        connections: Sequence[ShopConnection],
        *,
        url: str,
        open_timeout: float = 10.0,
        backoff_base: float = 1.0,
        backoff_max: float = 300.0,
    ) -> None:
        if not connections:
            raise ValueError("a bridge needs at least one connection")
        if len({c.app_key for c in connections}) != 1:
            raise ValueError("a bridge serves the connections of one app key")
        self.connection_ids = [c.pk for c in connections]
        self.url = url
        self.open_timeout = open_timeout
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.stats = BridgeStats()
        self._load(connections)

    def _load(self, connections: Sequence[ShopConnection]) -> None:
        self.shops = {c.external_id: c for c in connections}
        self.app_key = connections[0].app_key
        self.secret = connections[0].app_secret

    def reload(self) -> None:
        """Read the connections again (new credentials, a connection switched off) before reconnecting."""
        connections = list(ShopConnection.objects.filter(pk__in=self.connection_ids, active=True).order_by("pk"))
        if connections:
            self._load(connections)

    # -- what a platform defines --------------------------------------------------------------------------
    @abc.abstractmethod
    def connect_url(self) -> str:
        """The URL to open now (PMC signs it with the current time)."""

    def handshake(self, ws: ClientConnection) -> None:  # noqa: B027 - most platforms need nothing more
        """What follows the WebSocket handshake before messages flow (TMC's CONNECT); :class:`Refused` if
        the platform says no."""

    @abc.abstractmethod
    def read(self, frame: str | bytes) -> list[Delivery]:
        """The deliveries one frame asks for (``ValueError``/``TypeError``/``KeyError``: unreadable, logged and
        skipped: such a frame is not acknowledged)."""

    def periodic(self, ws: ClientConnection, now: float) -> None:  # noqa: B027 - optional
        """Work due every now and then while connected (heartbeats, pull requests)."""

    # -- the loop ------------------------------------------------------------------------------------------
    def run(self, until: Callable[[], bool]) -> BridgeStats:
        """Hold the connection until ``until()`` is true (checked every ``tick`` and while waiting to reconnect)."""
        attempt = 0
        while not until():
            outcome = self._attempt(until)
            if until():
                break
            if outcome == "established":
                attempt, delay = 0, self.backoff_base * random.uniform(0.8, 1.2)  # noqa: S311 - jitter
            else:
                attempt += 1
                delay = self.backoff_max if outcome == "refused" else self._backoff(attempt)
            self._wait(delay, until)
            self.reload()
        return self.stats

    def _attempt(self, until: Callable[[], bool]) -> str:
        """One connection, opening to close: "established", "refused" or "failed"."""
        try:
            ws = open_websocket(self.connect_url(), deadline=self.open_timeout)
        except InvalidStatus as exc:
            return self._refused(f"HTTP {exc.response.status_code}")
        except (OutboundError, InvalidHandshake, OSError, TimeoutError) as exc:
            return self._failed("connect", exc)
        with ws:
            try:
                self.handshake(ws)
            except Refused as exc:
                return self._refused(str(exc))
            except (ConnectionClosed, TimeoutError, OSError, ValueError) as exc:
                return self._failed("handshake", exc)
            self.stats.sessions += 1
            self.stats.events.append("connected")
            logger.info("%s bridge for app %s connected", self.platform, self.app_key)
            try:
                self._receive(ws, until)
            except ConnectionClosed as exc:
                self._failed("closed", exc)
            except (DatabaseError, OSError, TimeoutError) as exc:
                self._failed("error", exc)
        return "established"

    def _receive(self, ws: ClientConnection, until: Callable[[], bool]) -> None:
        while not until():
            try:
                frame = ws.recv(timeout=self.tick)
            except TimeoutError:
                frame = None
            if frame is not None:
                try:
                    deliveries = self.read(frame)
                except (ValueError, TypeError, KeyError) as exc:
                    logger.error("%s bridge: unreadable frame skipped: %s", self.platform, exc)
                    deliveries = []
                for delivery in deliveries:
                    self._deliver(ws, delivery)
            self.periodic(ws, time.monotonic())
        self.stats.events.append("stopped")

    def _deliver(self, ws: ClientConnection, delivery: Delivery) -> None:
        if delivery.message is not None:
            connection = self.shops.get(delivery.shop_id)
            if connection is None:
                self.stats.foreign += 1
                logger.warning("%s bridge: a message for shop %r, not connected", self.platform, delivery.shop_id)
            else:
                if not transaction.get_connection().in_atomic_block:  # (a test's transaction: keep it)
                    close_old_connections()  # a database connection gone stale while waiting is replaced
                with transaction.atomic(durable=True):  # committed before the platform hears the ack
                    inbox_store(connection=connection, messages=[delivery.message])
                self.stats.stored += 1
        if delivery.ack is not None:
            ws.send(delivery.ack)
            self.stats.acknowledged += 1

    # -- failures ------------------------------------------------------------------------------------------
    def _refused(self, why: str) -> str:
        self.stats.refused += 1
        self.stats.last_error = mask_secrets(f"refused: {why}")[:500]
        self.stats.events.append("refused")
        logger.error("%s bridge for app %s refused by the platform: %s", self.platform, self.app_key, why)
        return "refused"

    def _failed(self, stage: str, exc: BaseException) -> str:
        self.stats.failures += 1
        self.stats.last_error = mask_secrets(f"{stage}: {type(exc).__name__}: {exc}")[:500]
        self.stats.events.append(stage)
        logger.warning("%s bridge for app %s: %s", self.platform, self.app_key, self.stats.last_error)
        return "failed"

    def _backoff(self, attempt: int) -> float:
        delay: float = min(self.backoff_max, self.backoff_base * 2 ** max(0, attempt - 1))
        return delay * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret

    @staticmethod
    def _wait(seconds: float, until: Callable[[], bool]) -> None:
        ends = time.monotonic() + seconds
        while not until() and time.monotonic() < ends:
            time.sleep(min(0.05, max(0.0, ends - time.monotonic())))
