"""SMS through a provider interface: Aliyun SMS (``notifications.channels.sms_aliyun``) in production, the
console provider (it only logs, numbers masked) for development.

``KEFU_SMS_PROVIDER`` is the dotted path of the provider class; another provider (Tencent Cloud SMS, …)
implements :class:`SmsProvider`, sends through ``kefu.core.outbound`` and raises ``DeliveryError`` (retried)
or ``PermanentDeliveryError`` (dead at once) when the provider refuses.
"""

from __future__ import annotations

import logging
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from kefu.core.outbound import mask_secrets
from notifications.channels import DeliveryError, Message

logger = logging.getLogger("kefu.sms")


def mask_phone(phone: str) -> str:
    """A phone number as logs may show it: ``13812345678`` → ``138****5678``."""
    if len(phone) < 7:
        return "****"
    return f"{phone[:3]}****{phone[-4:]}"


class SmsProvider(Protocol):
    def send(self, *, phone: str, text: str, dedup_key: str) -> None:
        """Send or raise DeliveryError."""


class ConsoleSmsProvider:
    """Development only: writes the message to the log (logger ``kefu.sms``), the number masked."""

    def send(self, *, phone: str, text: str, dedup_key: str) -> None:
        logger.info("SMS to %s [%s]: %s", mask_phone(phone), dedup_key, text)


class SmsSender:
    def send(self, message: Message) -> None:
        provider: SmsProvider = import_string(settings.KEFU_SMS_PROVIDER)()
        try:
            provider.send(phone=message.recipient, text=message.body, dedup_key=message.dedup_key)
        except DeliveryError:
            raise
        except Exception as exc:
            raise DeliveryError(mask_secrets(f"{type(exc).__name__}: {exc}")) from exc
