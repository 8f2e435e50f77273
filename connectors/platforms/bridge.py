"""The HTTP push bridge's signature: how a bridge holding a platform's long-lived push connection posts to kefu.

Taobao's TMC and Pinduoduo's PMC deliver pushes over a long-lived WebSocket. kefu's own bridges
(``connectors.bridges``) hold them and store messages directly; a bridge run elsewhere holds one and posts each
message to ``POST /connectors/<platform>/push/`` with two headers:

- ``X-Kefu-Timestamp``: Unix seconds when the bridge posted (at most ``PUSH_MAX_AGE_SECONDS`` old);
- ``X-Kefu-Signature``: hex HMAC-SHA256 of ``timestamp + "." + body`` keyed with the connection's app secret.

This is kefu's own scheme (the same one the Taobao connector checks), not the platform's.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

from connectors.base import BadSignature

PUSH_SIGNATURE = "X-Kefu-Signature"
PUSH_TIMESTAMP = "X-Kefu-Timestamp"
PUSH_MAX_AGE_SECONDS = 300


def push_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``timestamp + "." + body`` with the app secret."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def push_verify(headers: Mapping[str, str], body: bytes, secret: str, *, now: float | None = None) -> None:
    """Raise :class:`BadSignature` unless the bridge's headers sign ``body`` with ``secret`` and are recent."""
    timestamp = headers.get(PUSH_TIMESTAMP, "")
    given = headers.get(PUSH_SIGNATURE, "")
    if not secret or not given or not hmac.compare_digest(given, push_signature(secret, timestamp, body)):
        raise BadSignature("signature does not match")
    try:
        age = abs((time.time() if now is None else now) - float(timestamp))
    except ValueError as exc:
        raise BadSignature("bad timestamp") from exc
    if age > PUSH_MAX_AGE_SECONDS:
        raise BadSignature("timestamp too old")
