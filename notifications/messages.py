"""Messages about a ticket that are not one timeline entry: what an app above the outbox asks it to send.

``notifications.services`` turns each timeline entry into messages by itself. Some messages have another
origin: the satisfaction request after a resolution and the supervisors' note of a low answer (quality). Their
app calls ``ticket_message_enqueue`` in its own transaction, with the recipients it chose (``buyer_recipients``,
``department_recipients``) and the extra context its template reads; the rows are written and handed to the
delivery task after the commit exactly like the timeline's messages (same outbox, same relay, same order per
ticket and recipient).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.utils import translation

from kefu.core.writes import NewRows, rows_write
from notifications.models import Channel, Notification
from notifications.publishing import publish_on_commit
from notifications.services import (
    Recipient,
    buyer_recipients,
    department_recipients,
    outbox_row,
    ticket_context,
    webhook_ticket,
)
from notifications.tasks import deliver_notifications_task
from tickets.models import Ticket

__all__ = ["Recipient", "buyer_recipients", "department_recipients", "ticket_message_enqueue"]


def _dedup_key(scope: str, recipient: Recipient) -> str:
    raw = f"{scope}:{recipient.audience}:{recipient.channel}:{recipient.address}"
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def ticket_message_enqueue(
    *,
    ticket: Ticket,
    message_event: str,
    recipients: Sequence[Recipient],
    scope: str,
    at: datetime,
    extra: Mapping[str, Any] | None = None,
) -> list[Notification]:
    """Write one outbox row per recipient (caller's transaction) and hand them to delivery after the commit.

    ``scope`` names the message once (e.g. ``survey:42``): the de-duplication key is built from it and the
    recipient, so asking twice for the same message writes nothing the second time (the key is unique; the
    caller's own idempotence normally keeps it from asking twice). ``extra`` is added to the template's context
    and to the webhook's ``data``.
    """
    if not recipients:
        return []
    keys = {r: _dedup_key(scope, r) for r in recipients}
    known = set(Notification.objects.filter(dedup_key__in=list(keys.values())).values_list("dedup_key", flat=True))
    rows = []
    seen: set[tuple[str, str]] = set()
    for recipient, key in keys.items():
        if key in known or (recipient.channel, recipient.address) in seen:
            continue
        seen.add((recipient.channel, recipient.address))
        with translation.override(recipient.language):
            context = {**ticket_context(ticket, audience=recipient.audience), **(extra or {})}
        payload: dict[str, Any] = {"id": key, "event": message_event, "ticket": ticket.number}
        if recipient.channel == Channel.WEBHOOK:
            payload = {
                "id": key,
                "event": message_event,
                "occurred_at": at.isoformat(),
                "shop": ticket.shop.code,
                "ticket": webhook_ticket(ticket),
                "data": {name: str(value) for name, value in (extra or {}).items()},
            }
        rows.append(
            outbox_row(
                ticket=ticket,
                message_event=message_event,
                recipient=recipient,
                context=context,
                payload=payload,
                key=key,
                at=at,
            )
        )
    if rows:
        rows_write(NewRows(Notification, rows))
        publish_on_commit(deliver_notifications_task, [n.pk for n in rows])
    return rows
