"""PDD's push (PMC), handled without I/O: the WebSocket URL and its signature, and what one frame means.

PMC is a WebSocket (``wss://message-api.pinduoduo.com/message/{client_id}/{timestamp_ms}/{sign}``) held by
kefu's PMC bridge (``connectors.bridges.pmc``), not by the web processes. :func:`pmc_receive` is the whole
message handling (frame → :class:`PushMessage` + the ``Ack`` frame to send back): the bridge uses it, and
:meth:`connectors.platforms.pdd.PddConnector.verify_push` for frames a bridge elsewhere posts over HTTP.
Source: Cherrs/pdd-rs ``src/pmc.rs`` (PLATFORMS.md §2).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.base import PushMessage
from connectors.platforms.pdd_codes import case_key, parse_time

PMC_BASE_URL = "wss://message-api.pinduoduo.com"


def pmc_sign(client_id: str, timestamp_ms: int, secret: str) -> str:
    """PMC's connection signature: base64 of the lower-case hex MD5 of ``client_id + timestamp_ms + secret``."""
    digest = hashlib.md5(f"{client_id}{timestamp_ms}{secret}".encode()).hexdigest()  # noqa: S324 - PMC's scheme
    return base64.b64encode(digest.encode()).decode()


def pmc_url(client_id: str, secret: str, timestamp_ms: int, base: str = PMC_BASE_URL) -> str:
    """The WebSocket URL a PMC bridge connects to."""
    return f"{base}/message/{client_id}/{timestamp_ms}/{pmc_sign(client_id, timestamp_ms, secret)}"


@dataclass(frozen=True)
class PmcOutcome:
    """What one PMC frame means: its ``commandType``, the refund messages in it, the ``Ack`` frame to send back
    (JSON text; ``None`` when the frame needs none) and, for a ``Fail`` frame or an unreadable one, why."""

    command: str
    messages: tuple[PushMessage, ...] = ()
    ack: str | None = None
    error: str = ""


def pmc_heartbeat(now_ms: int) -> str:
    """The heartbeat a bridge sends every few seconds (pdd-rs: every 5 s)."""
    return json.dumps({"commandType": "HeartBeat", "time": now_ms}, separators=(",", ":"))


def pmc_receive(frame: str | bytes | Mapping[str, Any], *, now_ms: int) -> PmcOutcome:
    """Handle one PMC frame (no I/O).

    ``Common``: a message ``{type, mallID, content}`` (``content`` a JSON string with ``refund_id``, ``tid``,
    ``refund_fee`` in fen, ``modified`` in ms); refund types (``pdd_refund_*``) become one :class:`PushMessage`
    (case ``<refund_id>:<tid>``, de-duplicated by the frame's ``id``); every Common frame is acknowledged with
    ``{commandType: "Ack", time, id, sendTime, type, mallID}`` so PMC stops redelivering it (other types are
    acknowledged and dropped). ``HeartBeat``/``Ack``: nothing. ``Fail``: the error. Anything else: an error, no ack.
    """
    try:
        data = json.loads(frame) if isinstance(frame, str | bytes) else dict(frame)
        command = str(data.get("commandType", ""))
    except (ValueError, TypeError, AttributeError) as exc:
        return PmcOutcome("", error=f"unreadable frame: {exc}")
    if command in ("HeartBeat", "Ack"):
        return PmcOutcome(command)
    if command == "Fail":
        return PmcOutcome(command, error=str(data.get("message") or data.get("msg") or "Fail"))
    if command != "Common":
        return PmcOutcome(command, error=f"unknown commandType {command!r}")
    try:
        message = data["message"]
        kind, mall_id = str(message["type"]), message["mallID"]
        ack = json.dumps(
            {
                "commandType": "Ack",
                "time": now_ms,
                "id": data["id"],
                "sendTime": data.get("sendTime"),
                "type": kind,
                "mallID": mall_id,
            },
            separators=(",", ":"),
        )
        if not kind.startswith("pdd_refund_"):
            return PmcOutcome(command, ack=ack)
        content = message.get("content") or {}
        if isinstance(content, str):
            content = json.loads(content)
        pushed = PushMessage(
            message_id=str(data["id"]),
            topic=kind,
            case_id=case_key(content["refund_id"], content["tid"]),
            modified_at=parse_time(content.get("modified")),
            raw=data,
        )
    except (KeyError, TypeError, ValueError) as exc:
        return PmcOutcome(command, error=f"unreadable Common frame: {exc!r}")
    return PmcOutcome(command, messages=(pushed,), ack=ack)


def bridge_frames(body: bytes) -> list[dict[str, Any]]:
    data = json.loads(body)
    frames = data if isinstance(data, list) else [data]
    if not frames or not all(isinstance(f, dict) for f in frames):
        raise ValueError("no frames")
    return frames
