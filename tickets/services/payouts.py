"""The finance queue: a clerk with ``tickets.pay_refund`` records how manual refunds were paid, one or many at once.

Every record goes through ``tickets.services.refunds.refund_settle`` (the path a provider's confirmation takes),
so the refund names its payer ("manual"), the channel, the reference, when it was paid and who confirmed it,
and the ticket completes. A bulk record is all or nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.errors import Conflict
from tickets.actors import Actor
from tickets.errors import FieldRequired, NotPermitted
from tickets.models import PayoutChannel, Refund, RefundStatus
from tickets.payments import MANUAL, PayoutAnswer, PayoutStatus
from tickets.services.refunds import refund_settle

PAY_REFUND = "tickets.pay_refund"


def refunds_to_pay() -> QuerySet[Refund]:
    """The finance queue: manual refunds submitted and not yet recorded as paid, oldest first."""
    return (
        Refund.objects.filter(status=RefundStatus.SUBMITTED, payer=MANUAL)
        .select_related("ticket", "ticket__shop", "ticket__order")
        .order_by("submitted_at", "pk")
    )


def refunds_payout_record(
    *, refund_ids: Sequence[int], channel: str, reference: str, paid_at: datetime, actor: Actor
) -> list[Refund]:
    """Record that the manual refunds ``refund_ids`` were paid through ``channel`` (``reference``: the bank's or
    wallet's transaction number; not needed for cash) at ``paid_at``, confirmed by ``actor``.

    Raises ``NotPermitted`` unless the actor's user has ``tickets.pay_refund``; ``FieldRequired`` /
    ``ValidationFailed`` for a missing or impossible channel, reference or time; ``Conflict`` naming the refund
    when one of them is not a manual refund waiting to be paid (nothing is recorded then). The tickets are locked
    in id order, so two clerks recording overlapping batches queue instead of deadlocking.
    """
    user = actor.user
    if user is None or not user.has_perm(PAY_REFUND):
        raise NotPermitted(_("Only finance staff may record the payout of a refund."))
    _check_inputs(refund_ids=refund_ids, channel=channel, reference=reference, paid_at=paid_at)
    answer = PayoutAnswer(status=PayoutStatus.SUCCEEDED, payer=MANUAL, reference=reference.strip(), paid_at=paid_at)
    with transaction.atomic():
        refunds = list(Refund.objects.filter(pk__in=refund_ids).select_related("ticket").order_by("ticket_id", "pk"))
        missing = set(refund_ids) - {refund.pk for refund in refunds}
        if missing:
            raise Conflict(_("Refund %(id)s does not exist.") % {"id": min(missing)}, code="refund_not_found")
        settled = []
        for refund in refunds:
            if refund.status != RefundStatus.SUBMITTED or refund.payer != MANUAL:
                raise Conflict(
                    _("Refund %(refund)s (ticket %(ticket)s) is not waiting for a manual payout: it is %(status)s.")
                    % {
                        "refund": refund.idempotency_key,
                        "ticket": refund.ticket.number,
                        "status": refund.get_status_display(),
                    },
                    code="refund_not_payable",
                )
            done = refund_settle(idempotency_key=refund.idempotency_key, answer=answer, actor=actor, channel=channel)
            if done.confirmed_by_id != user.pk:  # another clerk recorded it between our check and its lock
                raise Conflict(
                    _("Refund %(refund)s was recorded as paid by someone else meanwhile.")
                    % {"refund": refund.idempotency_key},
                    code="refund_not_payable",
                )
            settled.append(done)
        return settled


def _check_inputs(*, refund_ids: Sequence[int], channel: str, reference: str, paid_at: Any) -> None:
    if not refund_ids:
        raise FieldRequired(_("Choose at least one refund."), field="refunds")
    if channel not in PayoutChannel.values:
        raise FieldRequired(
            _("Choose how the refund was paid (%(choices)s).")
            % {"choices": ", ".join(str(label) for label in PayoutChannel.labels)},
            field="channel",
        )
    if channel != PayoutChannel.CASH and not reference.strip():
        raise FieldRequired(
            _("The transaction number of the payout is needed (only cash has none)."), field="reference"
        )
    if not isinstance(paid_at, datetime):
        raise FieldRequired(_("When was it paid?"), field="paid_at")
    if paid_at > timezone.now():
        raise FieldRequired(_("The payout time cannot be in the future."), field="paid_at")
