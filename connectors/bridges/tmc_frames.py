"""Taobao's TMC (消息服务) frames, without I/O: the binary codec, the signed connect, confirm and pull requests.

TMC is a WebSocket (``ws://mc.api.taobao.com/``) carrying binary frames, all integers little-endian:

- ``byte`` protocol version (2), ``byte`` message type: 0 CONNECT, 1 CONNECTACK, 2 SEND, 3 SENDACK;
- then headers, each an ``int16`` header type: 1 custom (``int32``-counted UTF-8 key, then a value), 2 status
  code (``int32``), 3 status phrase (counted string), 4 flag (``int32``), 5 token (counted string), until 0
  (end of headers);
- a custom value is a ``byte`` format then its bytes: 0 void, 1 counted string, 2 byte, 3 int16, 4 int32,
  5 int64, 6 date (``int64`` milliseconds), 7 byte array (``int32``-counted).

The client opens with CONNECT carrying ``app_key``, ``group_name``, ``timestamp`` (ms), ``sdk`` and ``sign``
(TOP's md5 signature of app_key, group_name and timestamp: ``connectors.platforms.taobao_codes.sign``); TMC answers
CONNECTACK with a ``token`` header (or a status code and phrase when it refuses). Messages arrive as SEND frames
whose custom headers are the message (``id`` int64, ``topic``, ``content`` JSON text or gzipped bytes, ``nick``,
``userid``, ``time``, ``outtime``, ``publisher``); the client confirms each one with a SEND carrying the token and
``{__kind: 2 (Confirm), id}`` (``__kind`` 20 = Failed, 1 = PullRequest: "send me what is waiting"). An unconfirmed
message is sent again later. Sources: the top-sdk TMC clients (Java ``com.taobao.api.internal.tmc``:
``MessageFields``, ``MessageKind``, ``TmcClient``; the Python port tmcpy ``messageio.py``; hucsuper/taobao-tmc).
"""

from __future__ import annotations

import gzip
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors.base import PushMessage
from connectors.platforms.taobao_codes import parse_time, sign

TMC_URL = "ws://mc.api.taobao.com/"
PROTOCOL_VERSION = 2
CONNECT, CONNECTACK, SEND, SENDACK = 0, 1, 2, 3
END, CUSTOM, STATUS_CODE, STATUS_PHRASE, FLAG, TOKEN = 0, 1, 2, 3, 4, 5
VOID, STRING, BYTE, INT16, INT32, INT64, DATE, BYTES = 0, 1, 2, 3, 4, 5, 6, 7
KIND_PULL_REQUEST, KIND_CONFIRM, KIND_DATA, KIND_FAILED = 1, 2, 3, 20
SDK = "kefu-tmc-1"


class Int16(int):
    """A custom value TMC reads as ``int16`` (``__kind``); a plain ``int`` is written as ``int64``."""


class FrameError(ValueError):
    """A frame that is not TMC's (cut short, an unknown header or value format)."""


@dataclass
class Frame:
    message_type: int
    headers: dict[str, Any] = field(default_factory=dict)  # the custom headers
    token: str | None = None
    status_code: int | None = None
    status_phrase: str | None = None
    flag: int | None = None
    protocol_version: int = PROTOCOL_VERSION


def _string(value: str) -> bytes:
    data = value.encode()
    return struct.pack("<I", len(data)) + data


def _value(value: Any) -> bytes:
    if value is None:
        return struct.pack("<B", VOID)
    if isinstance(value, Int16):
        return struct.pack("<Bh", INT16, value)
    if isinstance(value, bool):
        raise TypeError("TMC has no boolean values")
    if isinstance(value, int):
        return struct.pack("<Bq", INT64, value)
    if isinstance(value, datetime):
        return struct.pack("<Bq", DATE, int(value.timestamp() * 1000))
    if isinstance(value, bytes):
        return struct.pack("<BI", BYTES, len(value)) + value
    return struct.pack("<B", STRING) + _string(str(value))


def encode(frame: Frame) -> bytes:
    out = bytearray(struct.pack("<BB", frame.protocol_version, frame.message_type))
    if frame.status_code is not None:
        out += struct.pack("<Hi", STATUS_CODE, frame.status_code)
    if frame.status_phrase is not None:
        out += struct.pack("<H", STATUS_PHRASE) + _string(frame.status_phrase)
    if frame.flag is not None:
        out += struct.pack("<Hi", FLAG, frame.flag)
    if frame.token is not None:
        out += struct.pack("<H", TOKEN) + _string(frame.token)
    for key, value in frame.headers.items():
        out += struct.pack("<H", CUSTOM) + _string(key) + _value(value)
    out += struct.pack("<H", END)
    return bytes(out)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, fmt: str) -> Any:
        try:
            (value,) = struct.unpack_from(fmt, self.data, self.at)
        except struct.error as exc:
            raise FrameError(f"frame cut short at byte {self.at}") from exc
        self.at += struct.calcsize(fmt)
        return value

    def raw(self, length: int) -> bytes:
        if self.at + length > len(self.data):
            raise FrameError(f"frame cut short at byte {self.at}")
        chunk = self.data[self.at : self.at + length]
        self.at += length
        return chunk

    def string(self) -> str:
        return self.raw(self.take("<I")).decode("utf-8", errors="replace")

    def value(self) -> Any:
        kind = self.take("<B")
        readers = {
            VOID: lambda: None,
            STRING: self.string,
            BYTE: lambda: self.take("<B"),
            INT16: lambda: self.take("<h"),
            INT32: lambda: self.take("<i"),
            INT64: lambda: self.take("<q"),
            DATE: lambda: datetime.fromtimestamp(self.take("<q") / 1000, tz=UTC),
            BYTES: lambda: self.raw(self.take("<I")),
        }
        if kind not in readers:
            raise FrameError(f"unknown value format {kind}")
        return readers[kind]()


def decode(data: bytes) -> Frame:
    reader = _Reader(data)
    frame = Frame(protocol_version=reader.take("<B"), message_type=reader.take("<B"))
    while (header := reader.take("<H")) != END:
        if header == CUSTOM:
            key = reader.string()
            frame.headers[key] = reader.value()
        elif header == STATUS_CODE:
            frame.status_code = reader.take("<i")
        elif header == STATUS_PHRASE:
            frame.status_phrase = reader.string()
        elif header == FLAG:
            frame.flag = reader.take("<i")
        elif header == TOKEN:
            frame.token = reader.string()
        else:
            raise FrameError(f"unknown header type {header}")
    return frame


# -- the conversation ------------------------------------------------------------------------------------


def connect_sign(app_key: str, group_name: str, timestamp_ms: int, secret: str) -> str:
    """CONNECT's ``sign``: TOP's md5 signature of ``app_key``, ``group_name`` and ``timestamp``."""
    return sign({"app_key": app_key, "group_name": group_name, "timestamp": str(timestamp_ms)}, secret, "md5")


def connect_frame(app_key: str, secret: str, group_name: str, timestamp_ms: int) -> bytes:
    headers = {
        "app_key": app_key,
        "group_name": group_name,
        "timestamp": str(timestamp_ms),
        "sign": connect_sign(app_key, group_name, timestamp_ms, secret),
        "sdk": SDK,
    }
    return encode(Frame(CONNECT, headers, flag=1))


def confirm_frame(token: str, message_id: int) -> bytes:
    return encode(Frame(SEND, {"__kind": Int16(KIND_CONFIRM), "id": message_id}, token=token))


def pull_request_frame(token: str) -> bytes:
    return encode(Frame(SEND, {"__kind": Int16(KIND_PULL_REQUEST)}, token=token))


def message_content(value: Any) -> dict[str, Any]:
    """A message's ``content`` (JSON text, or gzipped JSON bytes) as a dict."""
    if isinstance(value, bytes):
        value = gzip.decompress(value).decode()
    data = json.loads(value) if isinstance(value, str) else value
    if not isinstance(data, dict):
        raise ValueError("content is not a JSON object")
    return data


def refund_push(message_id: str, topic: str, content: Mapping[str, Any], raw: Mapping[str, Any]) -> PushMessage:
    """A ``taobao_refund_*`` message as the neutral :class:`PushMessage` (the HTTP push reads the same fields)."""
    return PushMessage(
        message_id=message_id,
        topic=topic,
        case_id=str(content.get("refund_id", "")),
        modified_at=parse_time(content.get("modified")),
        raw=raw,
    )


def data_message(frame: Frame) -> tuple[str, PushMessage | None]:
    """A SEND frame from TMC: (the shop's nick, its refund message or None for another topic). ``ValueError``
    when it cannot be read. ``raw`` keeps the message's headers as JSON (content decoded, times in ISO)."""
    headers = frame.headers
    raw = {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in headers.items()
        if not isinstance(value, bytes) and key != "content"
    }
    topic = str(headers.get("topic", ""))
    if "id" not in headers or not topic:
        raise ValueError("a message without id or topic")
    if not topic.startswith("taobao_refund_"):
        return str(headers.get("nick", "")), None
    content = message_content(headers.get("content"))
    raw["content"] = json.dumps(content, ensure_ascii=False)
    raw["user_nick"] = str(headers.get("nick", ""))
    return raw["user_nick"], refund_push(str(headers["id"]), topic, content, raw)
