"""Masking buyers' contact details where a person does not need them (lists, logs, pages of other steps).

``138****5678`` for a phone number (first three and last four characters), ``l***@example.com`` for an email
address. Who may see them in full is the tickets app's rule (tickets.privacy.buyer_contact_visible).
"""

from __future__ import annotations

import hashlib
import hmac
import re

SEPARATORS = re.compile(r"[\s\-()]")


def mask_phone(phone: str) -> str:
    """The number with all but its first three and last four characters hidden (short numbers: all but two)."""
    compact = SEPARATORS.sub("", phone or "")
    if not compact:
        return ""
    if len(compact) >= 8:
        return f"{compact[:3]}****{compact[-4:]}"
    return "*" * max(2, len(compact) - 2) + compact[-2:] if len(compact) > 2 else "**"


def mask_email(email: str) -> str:
    """The address with its local part hidden after the first character."""
    if not email or "@" not in email:
        return "***" if email else ""
    local, domain = email.rsplit("@", 1)
    return f"{local[:1]}***@{domain}"


def mask_recipient(channel: str, address: str) -> str:
    """A notification's recipient as lists show it: the buyer's phone or email masked, anything else as it is."""
    if channel == "sms":
        return mask_phone(address)
    if channel == "email":
        return mask_email(address)
    return address


def _normalised(kind: str, value: str) -> str:
    """One spelling per identity: a phone without separators or China's +86/0086 prefix, an email lower-cased."""
    value = (value or "").strip()
    if kind == "phone":
        value = SEPARATORS.sub("", value)
        for prefix in ("+86", "0086"):
            if value.startswith(prefix):
                value = value[len(prefix) :]
    elif kind == "email":
        value = value.lower()
    return value


def identity_digest(kind: str, value: str, *, secret: bytes) -> str:
    """HMAC-SHA256 of a buyer's identity (``kind``: phone, email or platform id) under ``secret``: the same number
    gives the same digest in every shop table, and the digest does not give the number back (a bare hash of an
    11-digit phone number is reversed by trying them all; the key keeps that out of reach). Empty for no value."""
    normalised = _normalised(kind, value)
    if not normalised:
        return ""
    return hmac.new(secret, f"{kind}:{normalised}".encode(), hashlib.sha256).hexdigest()
