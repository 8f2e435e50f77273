"""极速退款: per-shop rules that approve a small, clean return the moment it opens, and their backtest.

One definition of what a rule accepts (``rule_matches``: a queryset filter), used twice: on a ticket just opened
(``fast_refund_apply``, the task after the opening commits) and on the shop's last 90 days (``rule_backtest``,
shown on the rule's admin page before it is enabled). So the backtest shows exactly what the live rule would do,
minus the buyers' flags as they were then (the backtest reads today's flags: a buyer flagged since is left out).

A rule acts through the ticket services: ``ticket_act(action="approve")`` as the system, with the reason
"automatic decision by rule X" on the timeline; a refund-only request then goes to its refund at once, a return
with goods waits for the parcel. A flagged buyer is never approved (tickets.automation's guards).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from kefu.core.errors import DomainError
from orders.models import ZERO
from risk.models import FastRefundRule
from risk.selectors import flagged_tickets_q
from risk.services.profiles import refund_counted
from risk.wording import risk_reason
from tickets.actors import Actor
from tickets.automation import automation_refusal
from tickets.models import EventType, Kind, Refund, ReturnTicket, Ticket, TicketEvent
from tickets.selectors import ticket_get
from tickets.services import ticket_act

logger = logging.getLogger(__name__)

FAST_REFUND_ACTOR = "fast refund"
BACKTEST_DAYS = 90
HISTORY = timedelta(days=90)
FEN = Decimal("0.01")
# What "turned out disputed" means: the ticket was escalated, went to arbitration or the platform stepped in, or
# the buyer complained about the same order afterwards.
DISPUTE_TRANSITIONS = ("escalate", "intervene", "submit_evidence", "uphold_buyer", "uphold_rejection")


def _prior_refunds() -> Coalesce:
    """How many refunds the ticket's buyer had in the 90 days before the ticket opened (a correlated subquery)."""
    counted = (
        Refund.objects.filter(
            refund_counted(),
            ticket__buyer_id=OuterRef("buyer_id"),
            created_at__lt=OuterRef("created_at"),
            created_at__gte=OuterRef("created_at") - HISTORY,
        )
        .order_by()
        .values("ticket__buyer_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def rule_matches(rule: FastRefundRule, tickets: QuerySet[ReturnTicket]) -> QuerySet[ReturnTicket]:
    """The returns of ``tickets`` the rule accepts: its shop's, at most its amount, refund-only if it says so,
    one of its reasons (if it names any), a buyer with at most ``max_refunds_90d`` refunds before, not flagged."""
    matched = tickets.filter(shop_id=rule.shop_id, requested_amount__lte=rule.max_amount, origin__isnull=True)
    if rule.refund_only:
        matched = matched.filter(refund_only=True)
    reason_ids = [reason.pk for reason in rule.reasons.all()]
    if reason_ids:
        matched = matched.filter(reason_id__in=reason_ids)
    return (
        matched.exclude(flagged_tickets_q())
        .annotate(prior_refunds=_prior_refunds())
        .filter(prior_refunds__lte=rule.max_refunds_90d)
    )


@dataclass(frozen=True)
class Backtest:
    days: int
    tickets: int
    amount: Decimal
    disputed: int


def rule_backtest(*, rule: FastRefundRule, now: datetime | None = None) -> Backtest:
    """What the rule would have approved over the shop's last 90 days: how many, how much, and how many of those
    later turned out disputed. One aggregate query (plus the rule's reasons)."""
    now = now or timezone.now()
    disputed_later = Exists(
        TicketEvent.objects.filter(ticket_id=OuterRef("pk")).filter(
            Q(event_type=EventType.ESCALATION) | Q(event_type=EventType.TRANSITION, transition__in=DISPUTE_TRANSITIONS)
        )
    ) | Exists(
        Ticket.objects.filter(order_id=OuterRef("order_id"), kind=Kind.COMPLAINT, created_at__gt=OuterRef("created_at"))
    )
    window = ReturnTicket.objects.filter(created_at__gte=now - timedelta(days=BACKTEST_DAYS), created_at__lte=now)
    figures = rule_matches(rule, window).aggregate(
        tickets=Count("pk"), amount=Sum("requested_amount"), disputed=Count("pk", filter=Q(disputed_later))
    )
    amount = Decimal(figures["amount"] or ZERO).quantize(FEN)  # SQLite's SUM drops the trailing zeros
    return Backtest(BACKTEST_DAYS, figures["tickets"], amount, figures["disputed"])


def fast_refund_apply(*, ticket_id: int) -> FastRefundRule | None:
    """Approve a return that just opened when one of its shop's enabled rules accepts it; the rule that acted.

    Runs after the opening committed (risk.tasks): the ticket is read again, so one already handled by a person
    (no longer ``requested``) is left alone, and the engine's version check refuses a race with a person.
    """
    ticket = ReturnTicket.objects.filter(pk=ticket_id, state="requested", platform="").first()
    if ticket is None:
        return None
    for rule in FastRefundRule.objects.filter(shop_id=ticket.shop_id, enabled=True).prefetch_related("reasons"):
        if not rule_matches(rule, ReturnTicket.objects.filter(pk=ticket.pk)).exists():
            continue
        if automation_refusal(ticket=ticket, action="approve") is not None:
            return None  # a flagged buyer: the request stays with the staff
        reason, payload = risk_reason(
            "fast_refund_rule", rule=rule.name, amount=str(ticket.requested_amount), max=str(rule.max_amount)
        )
        try:
            ticket_act(
                ticket=ticket_get(pk=ticket.pk),
                actor=Actor.system(FAST_REFUND_ACTOR),
                action="approve",
                reason=reason,
                reason_payload={**payload, "rule_id": rule.pk},
                check_version=False,
            )
        except DomainError as exc:  # a person acted first, or the ticket changed: nothing automatic happens
            logger.info("fast refund: rule %s not applied to %s: %s", rule.pk, ticket.number, exc)
            return None
        return rule
    return None
