"""What beat does for refunds: submit the requested ones whose task was lost, ask the providers about the
submitted ones, and escalate the ones nobody confirmed in time (``KEFU_REFUND_PAYOUT_HOURS``).

Each works on ids and calls the services of ``tickets.services.refunds``; each is idempotent.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orders.models import PaymentProvider
from tickets.actors import Actor
from tickets.locks import ticket_lock
from tickets.models import Priority, Refund, RefundStatus, Ticket
from tickets.payments import MANUAL, GatewayError
from tickets.services.deadlines import ticket_escalate
from tickets.services.refunds import refund_execute, refund_poll
from tickets.wording import system_reason

logger = logging.getLogger(__name__)

OVERDUE_ACTOR = "payout watch"


def refunds_relay(*, older_than_seconds: float = 120, limit: int = 200) -> int:
    """Submit requested refunds whose queued task never ran (broker down when they were reserved). Idempotent:
    the gateway call carries the refund's idempotency key. Returns how many left ``requested`` now.
    """
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    moved = 0
    ids = list(
        Refund.objects.filter(status=RefundStatus.REQUESTED, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        try:
            if refund_execute(refund_id=pk).status != RefundStatus.REQUESTED:
                moved += 1
        except GatewayError:
            continue  # recorded by refund_execute; tried again at the next run
    return moved


def refunds_poll_submitted(*, limit: int = 200) -> int:
    """Query the providers about submitted refunds (oldest first); returns how many are settled now."""
    ids = list(
        Refund.objects.filter(status=RefundStatus.SUBMITTED, ticket__platform="")
        .exclude(payer=MANUAL)
        .order_by("submitted_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in ids if refund_poll(refund_id=pk).status != RefundStatus.SUBMITTED)


def refunds_escalate_overdue(*, now: datetime | None = None, limit: int = 200) -> int:
    """Escalate, once per refund, the tickets of refunds submitted more than ``KEFU_REFUND_PAYOUT_HOURS`` ago and
    still unconfirmed: the sweep's escalation (``ticket_escalate``: breached, routed to supervisors) at priority
    urgent, with the refund named on the timeline. Returns how many refunds were escalated."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.KEFU_REFUND_PAYOUT_HOURS)
    overdue = list(
        Refund.objects.filter(status=RefundStatus.SUBMITTED, submitted_at__lt=cutoff, overdue_escalated_at=None)
        .order_by("submitted_at")
        .values_list("pk", "ticket_id")[:limit]
    )
    escalated = 0
    for refund_id, ticket_id in overdue:
        with transaction.atomic():
            ticket = ticket_lock(ticket=Ticket.objects.get(pk=ticket_id), check_version=False)
            refund = Refund.objects.select_for_update().get(pk=refund_id)
            if refund.status != RefundStatus.SUBMITTED or refund.overdue_escalated_at is not None:
                continue  # confirmed or escalated meanwhile
            reason, payload = system_reason(
                "refund_unconfirmed",
                refund=refund.idempotency_key,
                payer=refund.payer or PaymentProvider.MANUAL,
                submitted=refund.submitted_at,
            )
            # Urgent whatever the priority was (ticket_escalate raises it one level at most).
            ticket.priority = Priority.URGENT
            ticket_escalate(
                ticket=ticket, actor=Actor.system(OVERDUE_ACTOR), reason=reason, reason_payload=payload, now=now
            )
            refund.overdue_escalated_at = now
            refund.save(update_fields=["overdue_escalated_at"])
            escalated += 1
    if escalated:
        logger.warning(
            "%s submitted refunds unconfirmed for %sh escalated", escalated, settings.KEFU_REFUND_PAYOUT_HOURS
        )
    return escalated
