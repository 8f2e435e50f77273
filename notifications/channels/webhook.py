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
from typing import TYPE_CHECKING, Any

from notifications.channels import DeliveryError
from notifications.channels.http import post
from orders.models import webhook_secrets_at

if TYPE_CHECKING:
    from notifications.models import Notification


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


def shop_of(notification: Notification) -> tuple[str, list[str]]:
    """The code of the notification's shop and the secrets its webhooks are signed with now (current first):
    read with the row where the relay took it (notifications.leasing.SHOP_COLUMNS), else through its ticket."""
    if hasattr(notification, "shop_code") and hasattr(notification, "shop_webhook_secret"):  # set together
        return notification.shop_code, webhook_secrets_at(
            notification.shop_webhook_secret,
            getattr(notification, "shop_webhook_secret_previous", ""),
            getattr(notification, "shop_webhook_secret_previous_until", None),
            None,
        )
    shop = notification.ticket.shop
    return shop.code, shop.webhook_secrets()


class WebhookSender:
    def send(self, notification: Notification) -> None:
        code, secrets = shop_of(notification)
        if not secrets:
            raise DeliveryError(f"Shop {code} has no webhook secret; refusing to send unsigned webhooks.")
        body = body_bytes(notification.payload)
        headers = signed_headers(
            secret=secrets[0],
            previous_secret=secrets[1] if len(secrets) > 1 else "",
            body=body,
            event=notification.event,
            dedup_key=notification.dedup_key,
        )
        post(notification.recipient, data=body, headers=headers)
