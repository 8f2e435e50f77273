"""The Pinduoduo simulator's PMC side: ``Common`` frames about its cases, posted to kefu's push URL as the HTTP
bridge posts them, the ``Ack`` frames it expects back, and the WebSocket URL PMC accepts.

A mixin of :class:`tests.simulators.pdd.PddSimulator` (tests/simulators/pmc.py serves the same frames over a
WebSocket).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import time
import urllib.parse
from datetime import datetime
from typing import Any

from tests.simulators.base import BEIJING, FORMAT, post_signed


class PmcFrames:
    """Needs the simulator's ``detail``, ``mall_id``, ``client_id``, ``secret``, ``frames``, ``unacked``,
    ``bad_acks``, ``_lock`` and ``_frame_ids``."""

    client_id: str
    secret: str
    mall_id: str
    frames: list[dict[str, Any]]
    unacked: dict[int, dict[str, Any]]
    bad_acks: list[str]
    _lock: Any
    _frame_ids: Any
    detail: Any

    def frame(
        self, after_sales_id: str, kind: str = "RefundCreated", *, frame_id: int | None = None, topic: str = ""
    ) -> dict[str, Any]:
        """PMC delivers a ``Common`` frame about the case (``kind`` without the ``pdd_refund_`` prefix, or a
        whole ``topic``); it stays unacknowledged until :meth:`ack` receives its Ack."""
        case = self.detail(after_sales_id)
        now_ms = int(time.time() * 1000)
        content = {
            "mall_id": int(self.mall_id),
            "refund_id": case["id"],
            "tid": case["order_sn"],
            "refund_fee": case["refund_amount"],
            "bill_type": case["after_sales_type"],
            "operation": 1000,
            "modified": int(datetime.strptime(case["updated_time"], FORMAT).replace(tzinfo=BEIJING).timestamp()) * 1000,
        }
        frame = {
            "commandType": "Common",
            "id": frame_id if frame_id is not None else next(self._frame_ids),
            "time": now_ms,
            "sendTime": now_ms,
            "message": {
                "type": topic or f"pdd_refund_{kind}",
                "mallID": int(self.mall_id),
                "content": json.dumps(content, ensure_ascii=False, separators=(",", ":")),
            },
        }
        with self._lock:
            self.frames.append(frame)
            self.unacked[int(frame["id"])] = frame
        return copy.deepcopy(frame)

    def push(self, url: str, *frames: dict[str, Any], secret: str | None = None) -> tuple[int, bytes]:
        """POST frames to kefu's push URL as the bridge does, signed with the client secret (or ``secret``)."""
        return post_signed(url, frames, secret or self.secret)

    def ack(self, text: str) -> bool:
        """An ``Ack`` frame from the bridge: accepted when it names a delivered frame exactly as pdd-rs does
        (commandType, id, sendTime, type, mallID; ``time`` a millisecond stamp)."""
        data = json.loads(text)
        with self._lock:
            frame = self.unacked.get(int(data.get("id", -1)))
            ok = (
                frame is not None
                and data.get("commandType") == "Ack"
                and data.get("sendTime") == frame["sendTime"]
                and data.get("type") == frame["message"]["type"]
                and str(data.get("mallID")) == str(frame["message"]["mallID"])
                and isinstance(data.get("time"), int)
            )
            if ok:
                del self.unacked[int(data["id"])]
            else:
                self.bad_acks.append(text)
            return ok

    def pmc_url_accepted(self, url: str) -> bool:
        """Whether PMC would accept a connection to ``url``: /message/{client_id}/{timestamp_ms}/{sign} with
        sign = base64(lower hex MD5(client_id + timestamp_ms + secret)) and a recent timestamp."""
        parts = urllib.parse.urlsplit(url).path.strip("/").split("/")
        if len(parts) != 4 or parts[0] != "message" or parts[1] != self.client_id:
            return False
        digest = hashlib.md5(f"{parts[1]}{parts[2]}{self.secret}".encode()).hexdigest()  # noqa: S324
        fresh = abs(int(parts[2]) - time.time() * 1000) < 600_000
        return fresh and parts[3] == base64.b64encode(digest.encode()).decode()
