"""Masking buyers' contact details where a person does not need them (lists, logs, pages of other steps).

``138****5678`` for a phone number (first three and last four characters), ``l***@example.com`` for an email
address. Who may see them in full is the tickets app's rule (tickets.privacy.buyer_contact_visible).
"""

from __future__ import annotations

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
