"""Delivery channels, each behind one interface: ``send(notification)`` raises ``DeliveryError`` on failure.

A channel must be safe to call again for the same notification (the relay delivers at least once); the
receiver de-duplicates with ``notification.dedup_key``, which every channel passes on where it can. The
channels by name are in ``notifications.channels.senders``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from notifications.models import Notification


class DeliveryError(Exception):
    """The message did not reach its receiver this time (retried with backoff, then dead-lettered)."""

    # True when sending again cannot help (a refused target, a number the provider rejects): dead at once.
    permanent = False


class PermanentDeliveryError(DeliveryError):
    """The message can never reach its receiver as addressed: the relay dead-letters it without retrying."""

    permanent = True


class Sender(Protocol):
    def send(self, notification: Notification) -> None: ...
