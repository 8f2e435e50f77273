"""POST for the HTTP channels (webhook, robots) through kefu's one guarded client, ``kefu.core.outbound``.

A refused target (SSRF rules), a timeout (total deadline), an over-long answer or a status outside 200-299 is a
DeliveryError whose message holds the status and a short, sanitized excerpt of the answer, never more.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext as _

from kefu.core import outbound
from notifications.channels import DeliveryError, PermanentDeliveryError

USER_AGENT = "kefu-notifications/1"  # documented for receivers (docs/notifications.md)


def post(url: str, *, data: bytes, headers: Mapping[str, str]) -> outbound.OutboundResponse:
    """POST and return the 2xx response; anything else is a DeliveryError."""
    try:
        response = outbound.post(url, data=data, headers={"User-Agent": USER_AGENT, **headers})
    except outbound.BlockedTarget as exc:
        # Refused again at send time (the URL was checked when saved; DNS may have changed since): the
        # receiver's answer is never asked for, and sending again will not help.
        raise PermanentDeliveryError(_("Refused target: %(reason)s") % {"reason": exc}) from exc
    except outbound.OutboundError as exc:
        raise DeliveryError(str(exc)) from exc
    if not response.ok:
        raise DeliveryError(f"HTTP {response.status}: {response.excerpt()}")
    return response
