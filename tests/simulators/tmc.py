"""A local Taobao message channel (TMC) for the tests: a real WebSocket server speaking TMC's binary frames.

Written from the top-sdk TMC clients, independently of kefu's ``connectors.bridges.tmc_frames``: little-endian
frames (protocol version, message type, typed headers, custom key/value headers). A client must open with a
CONNECT whose ``sign`` is TOP's md5 signature of ``app_key``, ``group_name`` and ``timestamp`` (milliseconds,
±10 minutes); a wrong app key, group, signature or an old timestamp is answered with a CONNECTACK carrying a
status code and phrase, and the connection is closed. Accepted, it gets a token, then every unconfirmed message
(SEND frames: ``id`` int64, ``topic``, ``content`` JSON, ``nick``, ``userid``, ``publisher``, ``time``). A
message stays queued until a SEND ``{__kind: 2, id}`` with the token confirms it; a PullRequest (``__kind`` 1)
re-sends what was sent at least ``redeliver_after`` seconds ago and is still unconfirmed, and so does every new
connection. ``drop_confirms`` loses that many confirms on the way; ``kick()`` closes every open connection.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection

from tests.simulators.push_server import PushServer, Session, serving
from tests.simulators.taobao import APP_KEY, APP_SECRET, TaobaoSimulator

# Header types, value formats and message types, as the SDKs number them.
H_END, H_CUSTOM, H_STATUS_CODE, H_STATUS_PHRASE, H_FLAG, H_TOKEN = range(6)
V_VOID, V_STRING, V_BYTE, V_INT16, V_INT32, V_INT64, V_DATE, V_BYTES = range(8)
T_CONNECT, T_CONNECTACK, T_SEND = 0, 1, 2


def _write_text(out: io.BytesIO, text: str) -> None:
    data = text.encode("utf-8")
    out.write(struct.pack("<I", len(data)))
    out.write(data)


def frame_bytes(kind: int, *, token: str = "", status: int = 0, phrase: str = "", **custom: Any) -> bytes:
    out = io.BytesIO()
    out.write(bytes([2, kind]))
    if status:
        out.write(struct.pack("<Hi", H_STATUS_CODE, status))
    if phrase:
        out.write(struct.pack("<H", H_STATUS_PHRASE))
        _write_text(out, phrase)
    if token:
        out.write(struct.pack("<H", H_TOKEN))
        _write_text(out, token)
    for key, value in custom.items():
        out.write(struct.pack("<H", H_CUSTOM))
        _write_text(out, key)
        if isinstance(value, datetime):
            out.write(struct.pack("<Bq", V_DATE, int(value.timestamp() * 1000)))
        elif isinstance(value, int):
            out.write(struct.pack("<Bq", V_INT64, value))
        else:
            out.write(bytes([V_STRING]))
            _write_text(out, str(value))
    out.write(struct.pack("<H", H_END))
    return out.getvalue()


def parse_frame(data: bytes) -> dict[str, Any]:
    """{"type", "token", "headers"} of a client frame; ValueError when it is not a TMC frame."""
    stream = io.BytesIO(data)

    def read(fmt: str) -> Any:
        size = struct.calcsize(fmt)
        chunk = stream.read(size)
        if len(chunk) != size:
            raise ValueError("short frame")
        return struct.unpack(fmt, chunk)[0]

    def text() -> str:
        return stream.read(read("<I")).decode("utf-8")

    values = {
        V_VOID: lambda: None,
        V_STRING: text,
        V_BYTE: lambda: read("<B"),
        V_INT16: lambda: read("<h"),
        V_INT32: lambda: read("<i"),
        V_INT64: lambda: read("<q"),
        V_DATE: lambda: read("<q"),
        V_BYTES: lambda: stream.read(read("<I")),
    }
    version, kind = read("<B"), read("<B")
    if version != 2:
        raise ValueError(f"protocol version {version}")
    parsed: dict[str, Any] = {"type": kind, "token": "", "headers": {}}
    while (header := read("<H")) != H_END:
        if header == H_CUSTOM:
            key = text()
            fmt = read("<B")
            if fmt not in values:
                raise ValueError(f"value format {fmt}")
            parsed["headers"][key] = values[fmt]()
        elif header == H_TOKEN:
            parsed["token"] = text()
        elif header in (H_STATUS_CODE, H_FLAG):
            read("<i")
        elif header == H_STATUS_PHRASE:
            text()
        else:
            raise ValueError(f"header type {header}")
    return parsed


def expected_sign(app_key: str, group: str, timestamp: str, secret: str) -> str:
    joined = f"app_key{app_key}group_name{group}timestamp{timestamp}"
    return hashlib.md5(f"{secret}{joined}{secret}".encode()).hexdigest().upper()  # noqa: S324 - TOP's scheme


@dataclass
class TmcSimulator(PushServer):
    app_key: str = APP_KEY
    secret: str = APP_SECRET
    group_name: str = "default"
    redeliver_after: float = 1.0
    drop_confirms: int = 0
    url: str = ""
    queue: dict[int, dict[str, Any]] = field(default_factory=dict)  # unconfirmed messages by id
    sent: list[int] = field(default_factory=list)  # every delivery, re-deliveries included
    confirmed: list[int] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    connects: int = 0
    pull_requests: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        self._ids = itertools.count(7_000_000_001)

    def publish(self, nick: str, topic: str, content: dict[str, Any], *, message_id: int | None = None) -> int:
        """A message for the shop ``nick``; delivered to the open connection, or to the next one."""
        with self._lock:
            number = message_id if message_id is not None else next(self._ids)
            now = datetime.now(UTC)
            self.queue[number] = {
                "id": number,
                "topic": topic,
                "content": json.dumps(content, ensure_ascii=False),
                "nick": nick,
                "userid": 2_200_000_000 + number % 1000,
                "publisher": "4272",
                "time": now,
                "outtime": now,
            }
            return number

    def publish_refund(self, taobao: TaobaoSimulator, refund_id: str, topic: str = "RefundCreated") -> int:
        """TMC's ``taobao_refund_<topic>`` about a case of the TOP simulator (the fields the HTTP push carries)."""
        shaped = taobao.message(refund_id, topic)
        return self.publish(shaped["user_nick"], shaped["topic"], json.loads(shaped["content"]))

    # -- a connection ------------------------------------------------------------------------------------
    def _verify(self, frame: dict[str, Any]) -> str:
        """Why a CONNECT is refused ("" when accepted)."""
        headers = frame["headers"]
        if frame["type"] != T_CONNECT:
            return "expected CONNECT"
        if headers.get("app_key") != self.app_key:
            return "app_key not found"
        if headers.get("group_name") != self.group_name:
            return "group not found"
        timestamp = str(headers.get("timestamp", ""))
        if not timestamp.isdigit() or abs(int(timestamp) - time.time() * 1000) > 600_000:
            return "timestamp expired"
        if headers.get("sign") != expected_sign(self.app_key, self.group_name, timestamp, self.secret):
            return "sign error"
        return ""

    def handle(self, ws: ServerConnection) -> None:
        try:
            hello = parse_frame(ws.recv(timeout=10))  # type: ignore[arg-type]
        except (ValueError, TypeError, TimeoutError, ConnectionClosed):
            return
        why = self._verify(hello)
        if why:
            with self._lock:
                self.refusals.append(why)
            ws.send(frame_bytes(T_CONNECTACK, status=401, phrase=why))
            ws.close()
            return
        with self._lock:
            self.connects += 1
            session = Session(token=f"tmc-token-{self.connects}")
        ws.send(frame_bytes(T_CONNECTACK, token=session.token))
        self.deliver(ws, session)

    def pending(self) -> dict[int, Any]:
        return self.queue

    def encode(self, message: Any) -> bytes:
        return frame_bytes(T_SEND, **message)

    def client_frame(self, data: str | bytes, session: Session) -> None:
        frame = parse_frame(data if isinstance(data, bytes) else data.encode())
        headers = frame["headers"]
        if frame["type"] != T_SEND or frame["token"] != session.token:
            return
        with self._lock:
            if headers.get("__kind") == 2:
                if self.drop_confirms > 0:
                    self.drop_confirms -= 1
                    return
                number = int(headers.get("id", -1))
                if self.queue.pop(number, None) is not None:
                    self.confirmed.append(number)
            elif headers.get("__kind") == 1:
                self.pull_requests += 1
                session.expire(self.queue, self.redeliver_after)


@contextmanager
def tmc_running(**behaviour: Any) -> Iterator[TmcSimulator]:
    """The simulator on 127.0.0.1 in a thread (``url``: its ``ws://`` address); ``behaviour`` sets its fields."""
    simulator = TmcSimulator(**behaviour)
    with serving(simulator.handle) as address:
        simulator.url = f"{address}/"
        yield simulator
