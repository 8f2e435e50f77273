"""Reconciling a provider's refund statement with the refunds kefu recorded (finance's check that money moved).

Matched by our idempotency key (Alipay ``out_request_no`` / WeChat Pay ``out_refund_no``). Three kinds of
mismatch:

- paid but not recorded: the statement has a paid refund kefu does not hold as succeeded (unknown key, or a
  refund still submitted or failed here);
- recorded but not paid: kefu holds a refund as succeeded, paid by this provider within the statement's period,
  and the statement does not have it;
- amount differs: both have it, with different amounts.

Read-only: it reports, it changes nothing (a paid-but-not-recorded refund is settled by the provider's query,
``refund_poll``, or by hand, after someone looked at it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from django.db.models import TextChoices
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import Refund, RefundStatus
from tickets.statements import Statement


class MismatchKind(TextChoices):
    PAID_NOT_RECORDED = "paid_not_recorded", _("Paid but not recorded")
    RECORDED_NOT_PAID = "recorded_not_paid", _("Recorded but not paid")
    AMOUNT_DIFFERS = "amount_differs", _("Amount differs")


@dataclass(frozen=True)
class Mismatch:
    kind: MismatchKind
    key: str
    order_number: str
    ticket_number: str = ""
    statement_amount: Decimal | None = None
    recorded_amount: Decimal | None = None
    recorded_status: str = ""
    line: int | None = None  # the statement's line, when it has the refund


@dataclass
class Reconciliation:
    provider: str
    period: tuple[date, date] | None
    matched: int = 0
    matched_amount: Decimal = Decimal("0.00")
    mismatches: list[Mismatch] = field(default_factory=list)

    def of_kind(self, kind: MismatchKind) -> list[Mismatch]:
        return [mismatch for mismatch in self.mismatches if mismatch.kind == kind]


def statement_reconcile(*, statement: Statement, period: tuple[date, date] | None = None) -> Reconciliation:
    """Compare ``statement`` with kefu's refunds; ``period`` ([first day, day after the last), in the site's time
    zone) bounds the "recorded but not paid" search, by default the statement's own. Two queries."""
    period = period or statement.period
    result = Reconciliation(provider=statement.provider, period=period)
    keys = [row.key for row in statement.refunds]
    ours = {
        refund.idempotency_key: refund
        for refund in Refund.objects.filter(idempotency_key__in=keys).select_related("ticket", "ticket__order")
    }
    for row in statement.refunds:
        refund = ours.get(row.key)
        if refund is None or refund.status != RefundStatus.SUCCEEDED:
            result.mismatches.append(
                Mismatch(
                    MismatchKind.PAID_NOT_RECORDED,
                    row.key,
                    row.order_number,
                    ticket_number=refund.ticket.number or "" if refund else "",
                    statement_amount=row.amount,
                    recorded_amount=refund.amount if refund else None,
                    recorded_status=refund.status if refund else "",
                    line=row.line,
                )
            )
        elif refund.amount != row.amount:
            result.mismatches.append(
                Mismatch(
                    MismatchKind.AMOUNT_DIFFERS,
                    row.key,
                    row.order_number,
                    ticket_number=refund.ticket.number or "",
                    statement_amount=row.amount,
                    recorded_amount=refund.amount,
                    recorded_status=refund.status,
                    line=row.line,
                )
            )
        else:
            result.matched += 1
            result.matched_amount += row.amount
    if period is not None:
        start, end = (timezone.make_aware(datetime.combine(day, time.min)) for day in period)
        recorded = (
            Refund.objects.filter(
                status=RefundStatus.SUCCEEDED, payer=statement.provider, paid_at__gte=start, paid_at__lt=end
            )
            .exclude(idempotency_key__in=keys)
            .select_related("ticket", "ticket__order")
            .order_by("paid_at", "pk")
        )
        for refund in recorded:
            result.mismatches.append(
                Mismatch(
                    MismatchKind.RECORDED_NOT_PAID,
                    refund.idempotency_key,
                    refund.ticket.order.number,
                    ticket_number=refund.ticket.number or "",
                    recorded_amount=refund.amount,
                    recorded_status=refund.status,
                )
            )
    return result
