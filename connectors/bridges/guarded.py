"""Opening a platform's WebSocket under the guarded client's rules (``kefu.core.outbound``).

``ws``/``wss`` URLs only; the host name is resolved once and every address must be allowed exactly as for an
HTTP request (public internet only, unless ``KEFU_OUTBOUND_ALLOW_PRIVATE`` / ``KEFU_OUTBOUND_ALLOW_NETWORKS``;
cloud metadata addresses never); the TCP connection goes to the checked address itself (no second lookup), TLS
verifies the host name; connecting, TLS and the WebSocket handshake share one deadline. No proxy is used.
"""

from __future__ import annotations

import socket
import time
import urllib.parse

from django.utils.translation import gettext as _
from websockets.sync.client import ClientConnection, connect

from kefu.core.outbound import BlockedTarget, OutboundError
from kefu.core.outbound.addresses import resolved_target

SCHEMES = {"ws": "http", "wss": "https"}


def open_websocket(url: str, *, deadline: float, max_size: int = 4 * 1024 * 1024) -> ClientConnection:
    """A connected, handshaken WebSocket to ``url``; ``BlockedTarget`` when the rules refuse the address,
    ``OutboundError`` when it cannot be reached, websockets' ``InvalidHandshake`` when the server refuses."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise BlockedTarget(
            _("Only ws and wss URLs are allowed, not “%(scheme)s”.") % {"scheme": scheme or _("no scheme")}
        )
    target = resolved_target(urllib.parse.urlunsplit((SCHEMES[scheme], parts.netloc, parts.path, parts.query, "")))
    ends = time.monotonic() + deadline
    sock: socket.socket | None = None
    failure: OSError | None = None
    for family, address in target.addresses:
        candidate = socket.socket(family, socket.SOCK_STREAM)
        try:
            candidate.settimeout(max(0.01, ends - time.monotonic()))
            candidate.connect((str(address), target.port))
        except OSError as exc:
            candidate.close()
            failure = exc
            continue
        sock = candidate
        break
    if sock is None:
        raise OutboundError(
            _("%(where)s: no connection: %(error)s") % {"where": f"{target.host}:{target.port}", "error": failure}
        )
    try:
        return connect(
            url,
            sock=sock,
            server_hostname=target.host if scheme == "wss" else None,
            open_timeout=max(0.01, ends - time.monotonic()),
            proxy=None,
            compression=None,
            max_size=max_size,
            user_agent_header="kefu/1",
        )
    except BaseException:
        sock.close()
        raise
