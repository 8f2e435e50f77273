"""SMS through a provider interface. The default provider writes to the log (no SMS leaves the machine).

A real provider (Aliyun SMS, Tencent Cloud SMS) lives outside the merchant's walls: implement
:class:`SmsProvider` and set ``KEFU_SMS_PROVIDER`` to its dotted path.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from notifications.channels import DeliveryError

if TYPE_CHECKING:
    from notifications.models import Notification

logger = logging.getLogger("kefu.sms")


class SmsProvider(Protocol):
    def send(self, *, phone: str, text: str, dedup_key: str) -> None:
        """Send or raise DeliveryError."""


class ConsoleSmsProvider:
    def send(self, *, phone: str, text: str, dedup_key: str) -> None:
        logger.info("SMS to %s [%s]: %s", phone, dedup_key, text)


class SmsSender:
    def send(self, notification: Notification) -> None:
        provider: SmsProvider = import_string(settings.KEFU_SMS_PROVIDER)()
        try:
            provider.send(phone=notification.recipient, text=notification.body, dedup_key=notification.dedup_key)
        except DeliveryError:
            raise
        except Exception as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
