"""Secrets at rest: credentials (marketplace connections, payment accounts) are stored encrypted with Fernet,
the keys from the environment.

``KEFU_CONNECTOR_KEY`` holds one or more Fernet keys, comma-separated, newest first (``MultiFernet``: the first
encrypts, every one decrypts). To rotate: put the new key in front, restart, run ``connectors_rotate_keys``
(re-encrypts every stored secret with the first key; see :func:`rotate`), then drop the old key.
Without the setting (development, tests), a key is derived from ``SECRET_KEY`` so that nothing is ever stored in
clear; production settings refuse to start without it (kefu.settings).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

PREFIX = "fernet:"


def _fernet() -> MultiFernet:
    keys = [k.strip() for k in (settings.KEFU_CONNECTOR_KEY or "").split(",") if k.strip()]
    if not keys:
        derived = hashlib.sha256(("kefu-connectors:" + settings.SECRET_KEY).encode()).digest()
        keys = [base64.urlsafe_b64encode(derived).decode()]
    return MultiFernet([Fernet(key.encode()) for key in keys])


def encrypt(value: str) -> str:
    if not value:
        return ""
    return PREFIX + _fernet().encrypt(value.encode()).decode()


def decrypt(stored: str) -> str:
    """The clear text of a stored value; ``ValueError`` when no configured key opens it."""
    if not stored:
        return ""
    if not stored.startswith(PREFIX):
        raise ValueError("not an encrypted value")
    try:
        return _fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ValueError("no configured KEFU_CONNECTOR_KEY decrypts this value") from exc


def rotate(stored: str) -> str:
    """The value encrypted again with the first key (``MultiFernet.rotate``)."""
    if not stored:
        return ""
    return PREFIX + _fernet().rotate(stored[len(PREFIX) :].encode()).decode()


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]  # django-stubs: TextField[set, get]
    """A text field stored encrypted: the database column holds ``fernet:<token>``, Python sees the clear text.

    Never searchable or indexable (each encryption differs). The admin shows it write-only (desk.admin).
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str:
        return decrypt(value) if value else ""

    def get_prep_value(self, value: Any) -> str:
        value = super().get_prep_value(value)
        return encrypt(value) if value else ""
