"""The one guarded HTTP client for every request kefu sends out (webhooks, group robots, SMS, later connectors).

A URL from configuration (a shop's webhook, a robot) is written by people kefu does not control, so a request
to it must never reach kefu's own network (SSRF). The rules, in :func:`post` and :func:`get`:

- ``http`` and ``https`` only; no user name or password in the URL; an IPv4 address only in its plain
  dotted form (``http://2130706433/``, ``http://0177.0.0.1/`` and ``http://0x7f.1/`` are refused, not guessed).
- The host name is resolved **once** per request and every address it resolves to must be public (not
  loopback, private, link-local, shared/CGNAT, multicast, reserved, unspecified, nor a cloud metadata
  address; IPv6 forms that embed an IPv4 address are judged by that address). The connection goes to the
  checked address itself, so a second DNS answer cannot swap in another one (no DNS-rebinding window). TLS
  still verifies the certificate for the host name and sends it as SNI; the ``Host`` header is the name.
- Redirects are never followed: a 3xx is returned as its status.
- One **total** deadline covers connecting, TLS, sending and the whole answer (every socket read waits only
  for what is left of it, so a receiver trickling a byte a second fails at the deadline).
- The answer's body is read up to ``max_body`` bytes and no further (a larger one is an error).
- Only the status, the headers and the body (bounded) come back; :meth:`OutboundResponse.excerpt` is the
  short, sanitized text to record (``last_error``), never the raw answer. (The headers are kept because a
  payment provider signs its answers in them: WeChat Pay's ``Wechatpay-Signature``.)

Settings (read at call time): ``KEFU_OUTBOUND_DEADLINE_SECONDS``, ``KEFU_OUTBOUND_MAX_BODY_BYTES``,
``KEFU_OUTBOUND_ALLOW_PRIVATE`` (loopback and private networks allowed, for local development only; cloud
metadata addresses stay refused) and ``KEFU_OUTBOUND_ALLOW_NETWORKS`` (CIDRs an operator allows explicitly,
e.g. one internal receiver). Connections are kept alive per thread and per (scheme, host, address, port).

Errors: everything that goes wrong is an :class:`OutboundError`; a URL or address the rules refuse is its
subclass :class:`BlockedTarget` (permanent: sending again will not help), with a translatable message that
names the reason.
"""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from kefu.core.outbound.addresses import Target, check_url, resolved_target
from kefu.core.outbound.connection import Deadline, PinnedConnection, close_idle_connections, give_back, take
from kefu.core.outbound.errors import BlockedTarget, OutboundError, ResponseTooLarge
from kefu.core.outbound.masking import EXCERPT_CHARS, mask_secrets, mask_url, sanitize

__all__ = [
    "BlockedTarget",
    "OutboundError",
    "OutboundResponse",
    "ResponseTooLarge",
    "check_url",
    "close_idle_connections",
    "get",
    "mask_secrets",
    "mask_url",
    "post",
    "request",
]

USER_AGENT = "kefu/1"


@dataclass(frozen=True)
class OutboundResponse:
    """A complete answer: its status, body (at most ``max_body`` bytes) and headers (names in lower case)."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str:
        """The header ``name`` (any case); empty when the answer has none."""
        return self.headers.get(name.lower(), "")

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def excerpt(self) -> str:
        """At most 200 characters of the body as text, sanitized: what may be stored (``last_error``)."""
        return sanitize(self.body[: EXCERPT_CHARS * 4].decode("utf-8", errors="replace"))

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return json.loads(self.body)


# -- requests --------------------------------------------------------------------------------------------

_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


def request(
    method: str,
    url: str,
    *,
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    deadline: float | None = None,
    max_body: int | None = None,
) -> OutboundResponse:
    """Send one request under the rules of this module and return the complete answer (see the module doc).

    ``deadline``: seconds from now for everything (default ``KEFU_OUTBOUND_DEADLINE_SECONDS``);
    ``max_body``: bytes of body read at most (default ``KEFU_OUTBOUND_MAX_BODY_BYTES``).
    """
    seconds = float(settings.KEFU_OUTBOUND_DEADLINE_SECONDS if deadline is None else deadline)
    limit = int(settings.KEFU_OUTBOUND_MAX_BODY_BYTES if max_body is None else max_body)
    budget = Deadline(seconds)
    target = resolved_target(url)
    sent_headers = {"User-Agent": USER_AGENT}
    sent_headers.update({k: v for k, v in (headers or {}).items() if k.lower() != "host"})
    where = mask_url(f"{target.scheme}://{target.host}:{target.port}")
    last_error: Exception = OutboundError(_("%(where)s: no address to connect to.") % {"where": where})
    for family, address in target.addresses:  # the next address only when connecting to one failed
        connection, reused = take(target, family, address)
        connection.deadline = budget
        try:
            return _exchange(connection, target, method, data, sent_headers, limit)
        except _STALE as exc:
            if not reused:
                raise OutboundError(_("%(where)s closed the connection: %(error)s") % _args(where, exc)) from exc
            # A kept-alive connection the receiver had closed meanwhile: once more on a new one.
            connection, _reused = take(target, family, address)
            connection.deadline = budget
            try:
                return _exchange(connection, target, method, data, sent_headers, limit)
            except Exception as retry_exc:
                raise _failure(retry_exc, where, seconds) from retry_exc
        except (ConnectionRefusedError, OSError) as exc:
            if isinstance(exc, TimeoutError | ssl.SSLError) or len(target.addresses) == 1:
                raise _failure(exc, where, seconds) from exc
            last_error = exc
        except OutboundError:
            raise
        except Exception as exc:
            raise _failure(exc, where, seconds) from exc
    raise _failure(last_error, where, seconds) from last_error


def _args(where: str, exc: BaseException) -> dict[str, str]:
    return {"where": where, "error": sanitize(f"{type(exc).__name__}: {exc}", 120)}


def _failure(exc: BaseException, where: str, seconds: float) -> OutboundError:
    if isinstance(exc, OutboundError):
        return exc
    if isinstance(exc, TimeoutError):
        return OutboundError(
            _("%(where)s: no complete answer within %(seconds)s s.") % {"where": where, "seconds": seconds}
        )
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return OutboundError(_("%(where)s: TLS failed: %(error)s") % _args(where, exc))
    if isinstance(exc, http.client.HTTPException):
        return OutboundError(_("%(where)s: not a valid HTTP answer: %(error)s") % _args(where, exc))
    return OutboundError(_("%(where)s: connection failed: %(error)s") % _args(where, exc))


def _exchange(
    connection: PinnedConnection,
    target: Target,
    method: str,
    data: bytes | None,
    headers: dict[str, str],
    limit: int,
) -> OutboundResponse:
    """One request and its whole answer on ``connection``; kept for the next request only when complete."""
    keep = False
    response: http.client.HTTPResponse | None = None
    try:
        if connection.raw_socket is None:
            connection.connect()
        connection.send_request(method, target.path, data, headers)
        response = connection.getresponse()
        length = response.getheader("Content-Length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise ResponseTooLarge(_too_large(response.status, limit), status=response.status)
        body = bytearray()
        while True:
            chunk = response.read1(min(65536, limit + 1 - len(body)))
            if not chunk:
                break
            body += chunk
            if len(body) > limit:
                raise ResponseTooLarge(_too_large(response.status, limit), status=response.status)
        keep = not response.will_close  # the body is complete: the connection may carry the next request
        headers = {name.lower(): value for name, value in response.getheaders()}
        return OutboundResponse(status=response.status, body=bytes(body), headers=headers)
    finally:
        if response is not None:
            response.close()  # an unread rest is never read: the connection is closed below
        if keep:
            give_back(target, connection)
        else:
            connection.close()


def _too_large(status: int, limit: int) -> str:
    return _("HTTP %(status)s with a body over %(limit)s bytes (not read further).") % {
        "status": status,
        "limit": limit,
    }


def post(
    url: str,
    *,
    data: bytes,
    headers: Mapping[str, str],
    deadline: float | None = None,
    max_body: int | None = None,
) -> OutboundResponse:
    """POST ``data`` to ``url`` under the rules of this module; any status comes back (3xx is not followed)."""
    return request("POST", url, data=data, headers=headers, deadline=deadline, max_body=max_body)


def get(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    deadline: float | None = None,
    max_body: int | None = None,
) -> OutboundResponse:
    """GET ``url`` under the rules of this module; any status comes back (3xx is not followed)."""
    return request("GET", url, headers=headers, deadline=deadline, max_body=max_body)
