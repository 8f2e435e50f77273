"""Signed links that name one row without an account: ``/survey/<token>/`` (回访, quality.tokens) and
``/incident/<token>/`` (an incident's answer, incidents.tokens).

The token is the row's id signed with the site's secret key (``django.core.signing``, a salt per kind of link, so
one kind's token is refused by another's page) and stamped with the time it was made. It is refused when its
signature does not match (``TokenInvalid``: tampered, truncated, another key or another kind of link) or when it
is older than the link's validity (``TokenExpired``). The link alone lets its holder act on that one row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse


class TokenInvalid(Exception):
    pass


class TokenExpired(TokenInvalid):
    pass


@dataclass(frozen=True)
class SignedLink:
    """One kind of signed link: its salt, the URL pattern taking ``token``, and the setting of its validity in days."""

    salt: str
    url_name: str
    valid_days_setting: str

    def valid_for(self) -> timedelta:
        return timedelta(days=getattr(settings, self.valid_days_setting))

    def token(self, pk: int) -> str:
        return signing.dumps(pk, salt=self.salt, compress=False)

    def id_from(self, token: str) -> int:
        """The id the token names; raises TokenExpired or TokenInvalid."""
        try:
            value = signing.loads(token, salt=self.salt, max_age=self.valid_for())
        except signing.SignatureExpired as exc:
            raise TokenExpired from exc
        except signing.BadSignature as exc:
            raise TokenInvalid from exc
        if not isinstance(value, int):
            raise TokenInvalid
        return value

    def url(self, pk: int) -> str:
        """The absolute link sent to the buyer (``KEFU_PUBLIC_BASE_URL`` and the pattern's path)."""
        path = reverse(self.url_name, kwargs={"token": self.token(pk)})
        return f"{settings.KEFU_PUBLIC_BASE_URL}{path}"
