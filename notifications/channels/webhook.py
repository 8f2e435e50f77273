"""The shop's storefront webhook: JSON, signed with HMAC-SHA256 over ``timestamp + "." + body``.

Headers (docs/notifications.md shows how a storefront verifies them):

- ``X-Kefu-Event``: the event name; ``X-Kefu-Delivery``: the de-duplication key;
- ``X-Kefu-Timestamp``: Unix seconds when signed (reject if too old, against replays);
- ``X-Kefu-Signature``: ``sha256=<hex HMAC-SHA256(shop secret, f"{timestamp}.{body}")>``; during a secret
  rotation's overlap a second one with the previous secret follows, ``sha256=<current>, sha256=<previous>``
  (a receiver accepts the request when any of them matches).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from notifications.channels import DeliveryError, Message
from notifications.channels.http import post


def body_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def signed_headers(
    *,
    secret: str,
    body: bytes,
    event: str,
    dedup_key: str,
    timestamp: int | None = None,
    previous_secret: str = "",
) -> dict[str, str]:
    """The headers of one attempt; ``previous_secret`` (during a rotation's overlap) adds a second signature."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signatures = [signature(s, ts, body) for s in (secret, previous_secret) if s]
    return {
        "Content-Type": "application/json; charset=utf-8",
        "X-Kefu-Event": event,
        "X-Kefu-Delivery": dedup_key,
        "X-Kefu-Timestamp": ts,
        "X-Kefu-Signature": ", ".join(signatures),
    }


class WebhookSender:
    def send(self, message: Message) -> None:
        """Sign with the secrets of the ticket's shop (``message.shop``, read with the claim)."""
        secrets = message.shop.secrets() if message.shop else []
        if not secrets:
            code = message.shop.code if message.shop else f"of ticket {message.ticket_id}"
            raise DeliveryError(f"Shop {code} has no webhook secret; refusing to send unsigned webhooks.")
        body = body_bytes(message.payload)
        headers = signed_headers(
            secret=secrets[0],
            previous_secret=secrets[1] if len(secrets) > 1 else "",
            body=body,
            event=message.event,
            dedup_key=message.dedup_key,
        )
        post(message.recipient, data=body, headers=headers)
