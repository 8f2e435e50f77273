"""Delivery channels, each behind one interface: ``send(message)`` raises ``DeliveryError`` on failure.

A channel must be safe to call again for the same message (the relay delivers at least once); the receiver
de-duplicates with ``message.dedup_key``, which every channel passes on where it can. The channels by name are
in ``notifications.channels.senders``.

A sender gets a ``Message``: the leased outbox row with exactly the columns the senders read, built by
``notifications.leasing`` straight from the claim statement's rows (no model instance: the relay's own work per
message is a cost every delivery pays, issue 16). It is read-only; what an attempt did is the relay's record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, Protocol

from orders.models import webhook_secrets_at


class ShopSigning(NamedTuple):
    """The shop's columns its webhooks are signed with (``orders.models.Shop``), read once per claimed batch."""

    code: str
    webhook_secret: str
    webhook_secret_previous: str
    webhook_secret_previous_until: datetime | None

    def secrets(self) -> list[str]:
        """The secrets a webhook is signed with now: the current one, and the previous during a rotation."""
        return webhook_secrets_at(
            self.webhook_secret, self.webhook_secret_previous, self.webhook_secret_previous_until, None
        )


class Message(NamedTuple):
    """One leased outbox row (``notifications.models.Notification``) as the senders read it."""

    id: int
    ticket_id: int
    event: str
    channel: str
    recipient: str
    subject: str
    body: str
    payload: dict[str, Any]
    dedup_key: str
    attempts: int  # before this attempt
    shop: ShopSigning | None  # the ticket's shop, for the webhook channel (None for the others)


class DeliveryError(Exception):
    """The message did not reach its receiver this time (retried with backoff, then dead-lettered)."""

    # True when sending again cannot help (a refused target, a number the provider rejects): dead at once.
    permanent = False


class PermanentDeliveryError(DeliveryError):
    """The message can never reach its receiver as addressed: the relay dead-letters it without retrying."""

    permanent = True


class Sender(Protocol):
    def send(self, message: Message) -> None: ...
