"""``manage.py check --deploy``: connection secrets must be encrypted with a key of their own in production."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register


@register(deploy=True)
def connector_key_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    keys = [k.strip() for k in (settings.KEFU_CONNECTOR_KEY or "").split(",") if k.strip()]
    if not keys:
        return [
            Warning(
                "KEFU_CONNECTOR_KEY is not set: marketplace credentials are encrypted with a key derived from "
                "SECRET_KEY. Set a Fernet key of its own (Fernet.generate_key()).",
                id="connectors.W001",
            )
        ]
    errors: list[CheckMessage] = []
    for index, key in enumerate(keys):
        try:
            Fernet(key.encode())
        except ValueError:
            errors.append(Error(f"KEFU_CONNECTOR_KEY key #{index + 1} is not a Fernet key.", id="connectors.E001"))
    return errors
