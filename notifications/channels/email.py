"""Email through Django's email backends (console in the demo, SMTP in production via EMAIL_URL)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMessage

from notifications.channels import DeliveryError

if TYPE_CHECKING:
    from notifications.models import Notification


class EmailSender:
    def send(self, notification: Notification) -> None:
        message = EmailMessage(
            subject=notification.subject or notification.get_event_display(),
            body=notification.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[notification.recipient],
            headers={"X-Kefu-Delivery": notification.dedup_key},
        )
        try:
            sent = message.send(fail_silently=False)
        except Exception as exc:  # SMTP errors come in many types; all mean "not delivered this time"
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if sent != 1:
            raise DeliveryError("the email backend accepted no message")
