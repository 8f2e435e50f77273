"""Email through Django's email backends (console in the demo, SMTP in production via EMAIL_URL)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage

from notifications.channels import DeliveryError, Message
from notifications.models import Event


class EmailSender:
    def send(self, message: Message) -> None:
        email = EmailMessage(
            subject=message.subject or str(Event(message.event).label),
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.recipient],
            headers={"X-Kefu-Delivery": message.dedup_key},
        )
        try:
            sent = email.send(fail_silently=False)
        except Exception as exc:  # SMTP errors come in many types; all mean "not delivered this time"
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if sent != 1:
            raise DeliveryError("the email backend accepted no message")
