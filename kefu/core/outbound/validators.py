"""The save-time check of an outgoing URL, for admin forms and API serializers alike (both take Django's
ValidationError): the same rules as every request, so a URL the client would refuse is refused when typed.

Deliberately not a model field validator: ``Model.full_clean`` does not run it, so code that writes a URL
through the ORM (fixtures, the shared benchmark's bootstrap with its receiver on 127.0.0.1) is not judged by
the settings of the process that happens to save it. Every request is checked again when it is sent.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from kefu.core.outbound.addresses import check_url
from kefu.core.outbound.errors import BlockedTarget, OutboundError


def validate_outbound_url(value: str) -> None:
    """ValidationError (code ``blocked_target``, the reason as message) when kefu would refuse to send to
    ``value``. A host name that does not resolve yet is accepted: it is judged when a message is sent."""
    if not value:
        return
    try:
        check_url(value)
    except BlockedTarget as exc:
        raise ValidationError(str(exc), code="blocked_target") from exc
    except OutboundError:
        pass
