"""Turning a timeline event into outbox rows, in the transaction that wrote the event; resending a message.

``notifications_enqueue_for_event`` subscribes to the ticket core's domain event
``tickets.signals.ticket_event_recorded`` (connected in ``NotificationsConfig.ready``), which
``tickets.services.engine.event_record`` sends for every timeline entry inside the change's transaction: it
decides the notification event (created, state changed, closed, assigned, warning, breached, public comment),
the recipients per audience and channel, renders each message, and inserts the rows. After the commit the ids
go to ``deliver_notifications_task`` (notifications.publishing: off the request, never raising); if the broker
is down that hand-off fails quietly and the periodic relay picks the rows up later: delivery never depends on
one message reaching the broker.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from kefu.core.writes import NewRows, rows_write
from notifications.config import notification_config, staff_emails
from notifications.models import Audience, Channel, Event, Notification, ShopChannels, Status
from notifications.publishing import publish_on_commit
from notifications.rendering import local_time, render
from notifications.tasks import deliver_notifications_task
from tickets.models import Department, Kind, Ticket, TicketEvent, WaitingOn
from tickets.wording import buyer_state_label, event_reason

# The merchant's four departments (``Department.values`` builds the list again on every use).
_DEPARTMENT_CODES = frozenset(Department.values)


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
        # A ticket opened in bulk for an incident (incidents.services.starting marks it ``quiet``) announces
        # nothing: the incident tells its buyers itself, at its controlled rate (incidents.messaging), and staff
        # see the incident, not 50,000 "ticket created" messages.
        return None if (event.payload or {}).get("quiet") else Event.TICKET_CREATED
    if kind == "transition":
        # Closing an incident moves its tickets (incidents.closing) quietly: the buyer hears the one closing
        # message, which names the ticket's final state, not each step on the way there.
        if (event.payload or {}).get("quiet"):
            return None
        return Event.CLOSED if ticket.waiting_on == WaitingOn.NOBODY else Event.STATE_CHANGED
    if kind == "assignment":
        return Event.ASSIGNED if ticket.assignee_id else None
    if kind == "warning":
        return Event.DEADLINE_WARNING
    if kind == "escalation":
        return Event.SLA_BREACHED
    if kind == "comment" and event.public:
        return Event.PUBLIC_COMMENT
    if kind == "comment" and (event.payload or {}).get("reason_code") == "risk_flagged":
        return Event.RISK_FLAGGED  # the risk app's internal note (risk.services.flags.flags_note)
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
    if notification_event == Event.RISK_FLAGGED:  # who works the ticket, and the supervisors who decide
        return (
            assignee_recipients(ticket)
            + department_recipients(ticket.department)
            + department_recipients("supervisors", Audience.SUPERVISORS)
        )
    if notification_event == Event.PUBLIC_COMMENT:
        if event.actor_kind == "buyer":
            return assignee_recipients(ticket) or department_recipients(ticket.department)
        return buyer_recipients(ticket)
    return []


def _acted_on_deadline(event: TicketEvent) -> bool:
    """A transition the deadline sweep ran on the merchant's behalf (auto-approve, auto-close, …)."""
    return event.event_type == "transition" and (event.payload or {}).get("reason_code") == "deadline_acted"


def _merchant_department(event: TicketEvent, ticket: Ticket) -> str | None:
    """The department that last worked the ticket: the one whose step ran out, else (a step that waited on the
    buyer) the last one on its timeline, else the one that takes the kind's new tickets."""
    if event.step_department:
        return event.step_department
    last = (
        TicketEvent.objects.filter(ticket_id=ticket.pk)
        .exclude(step_department="")
        .order_by("-created_at", "-pk")
        .values_list("step_department", flat=True)
        .first()
    )
    if last:
        return last
    first_owner = ticket.STEPS[ticket.INITIAL_STATE].owner if ticket.STEPS else ""
    return first_owner if first_owner in _DEPARTMENT_CODES else None


def deliveries_for(notification_event: str, event: TicketEvent, ticket: Ticket) -> list[tuple[str, Recipient]]:
    """(notification event, recipient) pairs for one timeline entry: buyers get the buyer's wording; staff
    audiences get staff wording where there is one.

    - A ticket that now needs a department (opened, or moved to another) tells its robots or members with
      ``ticket_arrived``, never the buyer's "your request was received".
    - A transition the deadline sweep ran (``deadline_acted``) also tells the merchant's staff: the assignee and
      the department whose step ran out.
    """
    buyer_side = {Event.TICKET_CREATED, Event.STATE_CHANGED, Event.CLOSED}
    if notification_event not in buyer_side:
        return [(notification_event, r) for r in recipients_for(notification_event, event, ticket)]
    found = [(notification_event, r) for r in buyer_recipients(ticket)]
    if _acted_on_deadline(event):
        staff = assignee_recipients(ticket) + department_recipients(_merchant_department(event, ticket))
        found += [(Event.DEADLINE_ACTED, r) for r in staff]
    arrived = notification_event == Event.TICKET_CREATED or (
        notification_event == Event.STATE_CHANGED
        and ticket.department
        and event.payload.get("previous_department") != ticket.department
    )
    if arrived:
        found += [(Event.TICKET_ARRIVED, r) for r in department_recipients(ticket.department)]
    return found


def message_context(ticket: Ticket, event: TicketEvent, *, audience: str = "") -> dict[str, Any]:
    """What templates may use. Labels are translated in the active language (the caller overrides it); the
    buyer reads the buyer's label of the state (tickets.wording.buyer_state_label)."""
    return {
        **ticket_context(ticket, audience=audience),
        "due_at": local_time(ticket.due_at),
        # A comment's text is ``comment``; a system note (a comment with a reason code: a risk flag) has a reason.
        "reason": event_reason(event) if event.event_type != "comment" or "reason_code" in event.payload else "",
        "comment": event.reason if event.event_type == "comment" else "",
        "assignee": ticket.assignee.get_username() if ticket.assignee else "",
    }


def ticket_context(ticket: Ticket, *, audience: str = "") -> dict[str, Any]:
    """The ticket's part of every template's context (also of messages that are no timeline entry,
    notifications.messages), in the active language."""
    return {
        "ticket": {
            "number": ticket.number,
            "kind": ticket.kind,
            "kind_label": str(Kind(ticket.kind).label),  # get_kind_display(), without rebuilding the choices
            "state": ticket.state,
            "state_label": buyer_state_label(ticket.kind, ticket.state)
            if audience == Audience.BUYER
            else ticket.state_label(),
        },
        "order": {"number": ticket.order.number},
        "shop": {"code": ticket.shop.code, "name": ticket.shop.name},
        "buyer": {"name": ticket.buyer.name},
        # The department's name in the recipient's language (仓库 / Warehouse); a code of the desk's own, as is.
        "department": str(Department(ticket.department).label)
        if ticket.department in _DEPARTMENT_CODES
        else (ticket.department or ""),
    }


def webhook_payload(notification_event: str, ticket: Ticket, event: TicketEvent, dedup_key: str) -> dict[str, Any]:
    """The storefront webhook's JSON body (docs/notifications.md documents every field).

    ``sequence`` (the timeline entry's id) and ``ticket.version`` grow with every change of the ticket (its
    changes are serialised by the ticket's row lock), so a receiver can discard a message older than one it has
    already applied.
    """
    return {
        "id": dedup_key,
        "event": notification_event,
        "occurred_at": event.created_at.isoformat(),
        "sequence": event.pk,
        "shop": ticket.shop.code,
        "ticket": webhook_ticket(ticket),
        "data": {
            "transition": event.transition or None,
            "from_state": event.from_state or None,
            "to_state": event.to_state or None,
            "reason": event_reason(event) if event.public else "",
            "actor": event.actor_kind,
        },
    }


def webhook_ticket(ticket: Ticket) -> dict[str, Any]:
    """The ticket as every webhook body shows it; ``due_at`` is the buyer's own deadline, when they have one."""
    return {
        "number": ticket.number,
        "version": ticket.version,
        "kind": ticket.kind,
        "state": ticket.state,
        "order_number": ticket.order.number,
        "buyer_id": ticket.buyer.external_id,
        "due_at": ticket.due_at.isoformat() if ticket.due_at and ticket.waiting_on == WaitingOn.BUYER else None,
    }


def outbox_row(
    *,
    ticket: Ticket,
    message_event: str,
    recipient: Recipient,
    context: dict[str, Any],
    payload: dict[str, Any],
    key: str,
    at: datetime,
    timeline_event_id: int | None = None,
) -> Notification:
    """One outbox row: the message rendered for its recipient's channel and language, due at ``at``."""
    subject, body = render(message_event, recipient.channel, recipient.language, context)
    return Notification(
        ticket_id=ticket.pk,
        timeline_event_id=timeline_event_id,
        event=message_event,
        channel=recipient.channel,
        audience=recipient.audience,
        recipient=recipient.address,
        language=recipient.language,
        subject=subject[:200],
        body=body,
        payload=payload,
        dedup_key=key,
        next_attempt_at=at,
        created_at=at,
    )


def dedup_key_for(event: TicketEvent, recipient: Recipient) -> str:
    raw = f"{event.pk}:{recipient.audience}:{recipient.channel}:{recipient.address}"
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def notifications_enqueue_for_event(*, event: TicketEvent, ticket: Ticket) -> list[Notification]:
    """Write the outbox rows for one timeline entry (caller's transaction) and hand them to the delivery task
    once it commits."""
    notification_event = notification_event_for(event, ticket)
    if notification_event is None:
        return []
    deliveries = deliveries_for(notification_event, event, ticket)
    if not deliveries:
        return []
    rows = []
    for message_event, recipient in _unique(deliveries):
        key = dedup_key_for(event, recipient)
        with translation.override(recipient.language):  # labels and reasons in the recipient's language
            context = message_context(ticket, event, audience=recipient.audience)
            payload = (
                webhook_payload(message_event, ticket, event, key)
                if recipient.channel == Channel.WEBHOOK
                else {"id": key, "event": message_event, "ticket": ticket.number}
            )
        rows.append(
            outbox_row(
                ticket=ticket,
                message_event=message_event,
                recipient=recipient,
                context=context,
                payload=payload,
                key=key,
                at=event.created_at,
                timeline_event_id=event.pk,
            )
        )
    rows_write(NewRows(Notification, rows))  # an INSERT composed once per process (kefu.core.writes)
    publish_on_commit(deliver_notifications_task, [n.pk for n in rows])
    return rows


def _unique(deliveries: Iterable[tuple[str, Recipient]]) -> list[tuple[str, Recipient]]:
    """One message per address and timeline entry (the dedup key is per entry and address): the first wins."""
    seen: set[tuple[str, str]] = set()
    result = []
    for message_event, r in deliveries:
        if (r.channel, r.address) not in seen:
            seen.add((r.channel, r.address))
            result.append((message_event, r))
    return result


def notification_event_received(sender: type, *, event: TicketEvent, ticket: Ticket, **kwargs: Any) -> None:
    """The receiver of ``tickets.signals.ticket_event_recorded``: runs in the change's transaction, so the outbox
    rows commit or roll back with the change, and an error here rolls the change back."""
    notifications_enqueue_for_event(event=event, ticket=ticket)


def notification_resend(*, notification: Notification) -> Notification:
    """Put a dead-lettered (or sent) message back in the outbox with fresh attempts; keeps its dedup key."""
    with transaction.atomic():
        locked = Notification.objects.select_for_update().get(pk=notification.pk)
        locked.status = Status.PENDING
        locked.attempts = 0
        locked.next_attempt_at = timezone.now()
        locked.failing_since = None  # a fresh run of attempts: it holds back its ticket's later messages again
        locked.lease_owner = ""
        locked.save(update_fields=["status", "attempts", "next_attempt_at", "failing_since", "lease_owner"])
        publish_on_commit(deliver_notifications_task, [locked.pk])
    return locked
