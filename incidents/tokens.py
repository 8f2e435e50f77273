"""The buyer's signed answer link: ``/incident/<token>/`` where the token names one affected order of an incident
(``IncidentTicket``), signed with the site's secret key (django.core.signing, its own salt) and stamped with the
time it was made.

A token is refused when its signature does not match (``TokenInvalid``: tampered, truncated, another key, or a
survey's token) or when it is older than ``KEFU_INCIDENT_ANSWER_VALID_DAYS`` (``TokenExpired``). No account is
needed: the link alone lets its holder answer for that one order, once (quality.tokens is the same for 回访).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "kefu.incidents.answer"


class TokenInvalid(Exception):
    pass


class TokenExpired(TokenInvalid):
    pass


def valid_for() -> timedelta:
    return timedelta(days=settings.KEFU_INCIDENT_ANSWER_VALID_DAYS)


def answer_token(affected_id: int) -> str:
    return signing.dumps(affected_id, salt=SALT, compress=False)


def affected_id_from_token(token: str) -> int:
    """The ``IncidentTicket`` the token names; raises TokenExpired or TokenInvalid."""
    try:
        value = signing.loads(token, salt=SALT, max_age=valid_for())
    except signing.SignatureExpired as exc:
        raise TokenExpired from exc
    except signing.BadSignature as exc:
        raise TokenInvalid from exc
    if not isinstance(value, int):
        raise TokenInvalid
    return value


def answer_url(affected_id: int) -> str:
    """The absolute link sent to the buyer."""
    path = reverse("incidents:answer", kwargs={"token": answer_token(affected_id)})
    return f"{settings.KEFU_PUBLIC_BASE_URL}{path}"
