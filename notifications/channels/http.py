"""The one HTTP client every outgoing webhook uses: a pooled ``requests.Session`` per thread."""

from __future__ import annotations

import threading

import requests
from django.conf import settings

from notifications.channels import DeliveryError

_local = threading.local()


def session() -> requests.Session:
    s = getattr(_local, "session", None)
    if s is None:
        s = requests.Session()
        s.headers["User-Agent"] = "kefu-notifications/1"
        _local.session = s
    return s


def post(url: str, *, data: bytes, headers: dict[str, str]) -> requests.Response:
    """POST and return the response; a connection error, a timeout or a non-2xx status is a DeliveryError."""
    try:
        response = session().post(url, data=data, headers=headers, timeout=settings.KEFU_NOTIFY_HTTP_TIMEOUT)
    except requests.RequestException as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"HTTP {response.status_code}: {response.text[:300]}")
    return response
