"""A buyer's identities as digests: the platform buyer id, the phone number, the email address.

HMAC-SHA256 (kefu.core.privacy.identity_digest) under a key derived from the settings: KEFU_RISK_IDENTITY_KEY,
or SECRET_KEY when that is empty, each time through a salt so the digest key is never the signing key itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings

from kefu.core.privacy import identity_digest
from orders.models import Buyer
from risk.models import IdentityKind

SALT = b"kefu.risk.identity"


def identity_secret() -> bytes:
    base = settings.KEFU_RISK_IDENTITY_KEY or settings.SECRET_KEY
    return hashlib.sha256(SALT + base.encode()).digest()


@dataclass(frozen=True)
class Digests:
    phone: str
    email: str
    platform: str

    def primary(self) -> tuple[str, str]:
        """(kind, digest) a new profile is keyed by: the phone, else the email, else the platform id."""
        if self.phone:
            return IdentityKind.PHONE, self.phone
        if self.email:
            return IdentityKind.EMAIL, self.email
        return IdentityKind.PLATFORM, self.platform


def buyer_digests(buyer: Buyer) -> Digests:
    secret = identity_secret()
    return Digests(
        phone=identity_digest("phone", buyer.phone, secret=secret),
        email=identity_digest("email", buyer.email, secret=secret),
        platform=identity_digest("platform", f"{buyer.shop_id}:{buyer.external_id}", secret=secret),
    )
