"""The client's address of a request, from a configured number of trusted reverse proxies.

``KEFU_TRUSTED_PROXY_COUNT`` (default 0) is how many proxies of our own stand in front of the application, each
appending the address it received the request from to ``X-Forwarded-For`` (nginx's
``proxy_add_x_forwarded_for``):

- 0: the header is ignored; the address is the TCP peer's (``REMOTE_ADDR``);
- N: the Nth entry from the right is the address the outermost of our proxies saw; everything to its left was
  sent by the client and is ignored, so a client cannot choose the address it is counted under. A header with
  fewer entries than N (a request that did not pass through every proxy) gives its leftmost entry.

The same rule is DRF's ``NUM_PROXIES`` (set from the same setting), so throttles, failed-login lockouts
(django-axes' ``AXES_CLIENT_IP_CALLABLE``) and the failed-credential counters all count one client the same way.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The address the request came from, as the trusted proxies report it (never an entry a client wrote)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.KEFU_TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    entries = [entry.strip() for entry in forwarded.split(",")]
    return entries[-min(proxies, len(entries))] or remote
