"""Turning a timeline event into outbox rows, in the transaction that wrote the event.

``notifications_enqueue_for_event`` is called by ``tickets.services.engine.event_record`` for every timeline
entry: it decides the notification event (created, state changed, closed, assigned, warning, breached,
public comment), the recipients per audience and channel, renders each message, and inserts the rows.
After commit it hands the ids to the relay task; if the broker is down that hand-off fails quietly and the
periodic relay picks the rows up later: delivery never depends on one message reaching the broker.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import translation

from notifications.config import notification_config, staff_emails
from notifications.models import Audience, Channel, Event, Notification, ShopChannels
from notifications.rendering import local_time, render
from tickets.models import Department, Ticket, TicketEvent, WaitingOn

if TYPE_CHECKING:
    from celery import Celery
    from kombu.connection import ConnectionPool

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipient:
    audience: str
    channel: str
    address: str
    language: str


def notification_event_for(event: TicketEvent, ticket: Ticket) -> str | None:
    """Which notification a timeline entry is, if any."""
    kind = event.event_type
    if kind == "created":
        return Event.TICKET_CREATED
    if kind == "transition":
        return Event.CLOSED if ticket.waiting_on == WaitingOn.NOBODY else Event.STATE_CHANGED
    if kind == "assignment":
        return Event.ASSIGNED if ticket.assignee_id else None
    if kind == "warning":
        return Event.DEADLINE_WARNING
    if kind == "escalation":
        return Event.SLA_BREACHED
    if kind == "comment" and event.public:
        return Event.PUBLIC_COMMENT
    return None


def _staff_language() -> str:
    return settings.LANGUAGE_CODE


def buyer_recipients(ticket: Ticket) -> list[Recipient]:
    shop = ticket.shop
    prefs = notification_config.get().shop_channels.get(shop.pk) or ShopChannels(shop=shop)
    found = []
    if prefs.webhook and shop.webhook_url:
        found.append(Recipient(Audience.BUYER, Channel.WEBHOOK, shop.webhook_url, prefs.language))
    if prefs.sms and ticket.buyer.phone:
        found.append(Recipient(Audience.BUYER, Channel.SMS, ticket.buyer.phone, prefs.language))
    if prefs.email and ticket.buyer.email:
        found.append(Recipient(Audience.BUYER, Channel.EMAIL, ticket.buyer.email, prefs.language))
    return found


def assignee_recipients(ticket: Ticket) -> list[Recipient]:
    if ticket.assignee is None or not ticket.assignee.email:
        return []
    return [Recipient(Audience.ASSIGNEE, Channel.EMAIL, ticket.assignee.email, _staff_language())]


def department_recipients(code: str | None, audience: str = Audience.DEPARTMENT) -> list[Recipient]:
    """The department's group robots; without one, the email of its on-duty members."""
    if not code:
        return []
    robots = notification_config.get().robots.get(code, ())
    found = [Recipient(audience, robot.channel, robot.url, _staff_language()) for robot in robots]
    if found:
        return found
    emails = staff_emails.get().get(code, ())
    return [Recipient(audience, Channel.EMAIL, email, _staff_language()) for email in emails]


def recipients_for(notification_event: str, event: TicketEvent, ticket: Ticket) -> list[Recipient]:
    if notification_event in (Event.TICKET_CREATED,):
        return buyer_recipients(ticket) + department_recipients(ticket.department)
    if notification_event == Event.STATE_CHANGED:
        found = buyer_recipients(ticket)
        if ticket.department and event.payload.get("previous_department") != ticket.department:
            found += department_recipients(ticket.department)
        return found
    if notification_event == Event.CLOSED:
        return buyer_recipients(ticket)
    if notification_event == Event.ASSIGNED:
        return assignee_recipients(ticket)
    if notification_event == Event.DEADLINE_WARNING:
        return assignee_recipients(ticket) or department_recipients(ticket.department)
    if notification_event == Event.SLA_BREACHED:
        return department_recipients("supervisors", Audience.SUPERVISORS)
    if notification_event == Event.PUBLIC_COMMENT:
        if event.actor_kind == "buyer":
            return assignee_recipients(ticket) or department_recipients(ticket.department)
        return buyer_recipients(ticket)
    return []


def message_context(ticket: Ticket, event: TicketEvent) -> dict[str, Any]:
    """What templates may use. Labels are translated in the active language (the caller overrides it)."""
    return {
        "ticket": {
            "number": ticket.number,
            "kind": ticket.kind,
            "kind_label": str(ticket.get_kind_display()),
            "state": ticket.state,
            "state_label": ticket.state_label(),
        },
        "order": {"number": ticket.order.number},
        "shop": {"code": ticket.shop.code, "name": ticket.shop.name},
        "buyer": {"name": ticket.buyer.name},
        "due_at": local_time(ticket.due_at),
        "reason": event.reason if event.event_type != "comment" else "",
        "comment": event.reason if event.event_type == "comment" else "",
        "assignee": ticket.assignee.get_username() if ticket.assignee else "",
        # The department's name in the recipient's language (仓库 / Warehouse); a code of the desk's own, as is.
        "department": str(Department(ticket.department).label)
        if ticket.department in Department.values
        else (ticket.department or ""),
    }


def webhook_payload(notification_event: str, ticket: Ticket, event: TicketEvent, dedup_key: str) -> dict[str, Any]:
    """The storefront webhook's JSON body (docs/notifications.md documents every field)."""
    return {
        "id": dedup_key,
        "event": notification_event,
        "occurred_at": event.created_at.isoformat(),
        "shop": ticket.shop.code,
        "ticket": {
            "number": ticket.number,
            "kind": ticket.kind,
            "state": ticket.state,
            "order_number": ticket.order.number,
            "buyer_id": ticket.buyer.external_id,
            "due_at": ticket.due_at.isoformat() if ticket.due_at and ticket.waiting_on == WaitingOn.BUYER else None,
        },
        "data": {
            "transition": event.transition or None,
            "from_state": event.from_state or None,
            "to_state": event.to_state or None,
            "reason": event.reason if event.public else "",
            "actor": event.actor_kind,
        },
    }


def dedup_key_for(event: TicketEvent, recipient: Recipient) -> str:
    raw = f"{event.pk}:{recipient.audience}:{recipient.channel}:{recipient.address}"
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def notifications_enqueue_for_event(*, event: TicketEvent, ticket: Ticket) -> list[Notification]:
    """Write the outbox rows for one timeline entry (caller's transaction) and hand them over on commit."""
    notification_event = notification_event_for(event, ticket)
    if notification_event is None:
        return []
    recipients = recipients_for(notification_event, event, ticket)
    if not recipients:
        return []
    rows = []
    for recipient in _unique(recipients):
        key = dedup_key_for(event, recipient)
        with translation.override(recipient.language):
            context = message_context(ticket, event)
        subject, body = render(notification_event, recipient.channel, recipient.language, context)
        payload = (
            webhook_payload(notification_event, ticket, event, key)
            if recipient.channel == Channel.WEBHOOK
            else {"id": key, "event": notification_event, "ticket": ticket.number}
        )
        rows.append(
            Notification(
                ticket_id=ticket.pk,
                timeline_event_id=event.pk,
                event=notification_event,
                channel=recipient.channel,
                audience=recipient.audience,
                recipient=recipient.address,
                language=recipient.language,
                subject=subject[:200],
                body=body,
                payload=payload,
                dedup_key=key,
                next_attempt_at=event.created_at,
                created_at=event.created_at,
            )
        )
    created = Notification.objects.bulk_create(rows)
    ids = [n.pk for n in created if n.pk is not None] or list(
        Notification.objects.filter(dedup_key__in=[r.dedup_key for r in rows]).values_list("pk", flat=True)
    )
    transaction.on_commit(lambda: hand_to_relay(ids), robust=True)
    return created


def _unique(recipients: Iterable[Recipient]) -> list[Recipient]:
    seen: set[tuple[str, str]] = set()
    result = []
    for r in recipients:
        if (r.channel, r.address) not in seen:
            seen.add((r.channel, r.address))
            result.append(r)
    return result


# How long handing a message to the broker may hold up a committed change before it is left to the
# periodic relay (connect and socket timeout of the publishing connections).
PUBLISH_TIMEOUT_SECONDS = 1.0

_publish_pools: dict[str, ConnectionPool] = {}
_publish_pools_lock = threading.Lock()


def _publish_pool(app: Celery) -> ConnectionPool:
    """Broker connections for ``hand_to_relay`` that give up at once when the broker is down.

    Celery's own pool retries connecting for ``broker_connection_timeout`` (about 6 s with its retry
    intervals) on every ``apply_async``, even with ``retry=False``: 200 ticket changes during a Redis outage
    would each wait 6 s after their commit. These connections try once, with short socket timeouts.
    One pool per broker URL (tests point the app at another broker).
    """
    url = app.conf.broker_write_url
    with _publish_pools_lock:
        pool = _publish_pools.get(url)
        if pool is None:
            connection = app.connection_for_write(
                url,
                connect_timeout=PUBLISH_TIMEOUT_SECONDS,
                transport_options={
                    "max_retries": 0,
                    "socket_connect_timeout": PUBLISH_TIMEOUT_SECONDS,
                    "socket_timeout": PUBLISH_TIMEOUT_SECONDS,
                },
            )
            pool = _publish_pools[url] = connection.Pool(limit=app.conf.broker_pool_limit)
        return pool


def hand_to_relay(ids: list[int], *, countdown: float | None = None) -> bool:
    """Queue delivery (now, or in ``countdown`` seconds). Never raises, and never waits long for the broker:
    a broker that is down only delays delivery to the periodic relay. Returns whether all were queued.
    """
    from notifications.tasks import deliver_notification_task

    if not ids:
        return True
    app = deliver_notification_task.app
    try:
        if app.conf.task_always_eager:  # no broker: the task runs right here (demo and some tests)
            for pk in ids:
                deliver_notification_task.apply_async((pk,), countdown=countdown)
            return True
        with _publish_pool(app).acquire(block=True, timeout=PUBLISH_TIMEOUT_SECONDS) as connection:
            producer = app.amqp.Producer(connection, auto_declare=False)
            for pk in ids:
                deliver_notification_task.apply_async((pk,), countdown=countdown, retry=False, producer=producer)
    except Exception as exc:  # the broker is down or unreachable: the periodic relay will deliver
        logger.warning("notifications: could not queue %s (%s); the periodic relay will deliver them", ids, exc)
        return False
    return True
