"""The shop's storefront webhook: JSON, signed with HMAC-SHA256 over ``timestamp + "." + body``.

Headers (docs/notifications.md shows how a storefront verifies them):

- ``X-Kefu-Event``: the event name; ``X-Kefu-Delivery``: the de-duplication key;
- ``X-Kefu-Timestamp``: Unix seconds when signed (reject if too old, against replays);
- ``X-Kefu-Signature``: ``sha256=<hex HMAC-SHA256(shop secret, f"{timestamp}.{body}")>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING, Any

from notifications.channels import DeliveryError
from notifications.channels.http import post

if TYPE_CHECKING:
    from notifications.models import Notification


def body_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def signed_headers(
    *, secret: str, body: bytes, event: str, dedup_key: str, timestamp: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json; charset=utf-8",
        "X-Kefu-Event": event,
        "X-Kefu-Delivery": dedup_key,
        "X-Kefu-Timestamp": ts,
        "X-Kefu-Signature": signature(secret, ts, body),
    }


def shop_of(notification: Notification) -> tuple[str, str]:
    """The code and webhook secret of the notification's shop: read with the row where the relay took it
    (notifications.leasing.SHOP_COLUMNS), else through its ticket."""
    if hasattr(notification, "shop_code") and hasattr(notification, "shop_webhook_secret"):  # set together
        return notification.shop_code, notification.shop_webhook_secret
    shop = notification.ticket.shop
    return shop.code, shop.webhook_secret


class WebhookSender:
    def send(self, notification: Notification) -> None:
        code, secret = shop_of(notification)
        if not secret:
            raise DeliveryError(f"Shop {code} has no webhook secret; refusing to send unsigned webhooks.")
        body = body_bytes(notification.payload)
        headers = signed_headers(secret=secret, body=body, event=notification.event, dedup_key=notification.dedup_key)
        post(notification.recipient, data=body, headers=headers)
