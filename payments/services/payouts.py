"""Compensation payouts: a logistics ticket in ``compensating`` is paid by transfer, coupon code or by hand,
and the payout completes the ticket's compensation step through its declared ``resolve`` transition.

Lock order: the ticket (``tickets.locks.ticket_lock``), then the payout row, then a coupon code. A transfer is
sent outside any transaction (:func:`payout_transfer_execute`, queued on commit): its ``idempotency_key`` is
the provider's out_biz_no / out_detail_no, so a retry after a timeout pays once.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from celery import current_app
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from kefu.core.vocabulary import LogisticsState
from orders.models import Shop
from payments.errors import PayoutInvalid, PayoutRefused
from payments.gateways.base import TransferGateway, TransferRequest
from payments.models import CompensationPayout, PayoutMethod
from payments.services.coupons import coupon_issue
from tickets.actors import Actor, Role
from tickets.errors import NotPermitted
from tickets.locks import ticket_lock
from tickets.models import Ticket
from tickets.payments import GatewayError, PayoutAnswer, PayoutStatus
from tickets.services.acting import ticket_act

TRANSFER_GATEWAYS = {
    PayoutMethod.ALIPAY_TRANSFER: "payments.gateways.alipay.for_shop",
    PayoutMethod.WECHATPAY_TRANSFER: "payments.gateways.wechatpay.for_shop",
}
TRANSFER_TASK = "payments.tasks.transfer_payout_task"
# Who pays a compensation: those who may resolve the compensating step (LogisticsTicket.resolve), less the platform.
PAYERS = frozenset({Role.OPERATIONS, Role.LOGISTICS, Role.SYSTEM})


def compensation_pay(
    *,
    ticket: Ticket,
    method: PayoutMethod,
    actor: Actor,
    payee: str = "",
    payee_name: str = "",
    reference: str = "",
) -> CompensationPayout:
    """Pay the compensation of ``ticket`` (a logistics ticket in ``compensating``) the way ``method`` says.

    Coupon and manual payouts succeed at once and resolve the ticket in the same transaction; a transfer is
    recorded SUBMITTED and sent after the commit. A ticket with a payout that has not failed is refused (one
    payment per compensation); the amount is the one approved on the ticket, checked again against the shop's
    cap. Raises ``NotPermitted``, ``PayoutRefused``, ``PayoutInvalid``, ``CouponPoolEmpty``; then nothing is
    written.
    """
    method = PayoutMethod(method)
    if not actor.plays(PAYERS):
        raise NotPermitted(_("Only operations or logistics staff pay a compensation."))
    if method in TRANSFER_GATEWAYS and not payee.strip():
        raise PayoutInvalid(
            _("A transfer needs the buyer's account (Alipay login id or WeChat openid)."), field="payee"
        )
    if method == PayoutMethod.MANUAL and not reference.strip():
        raise PayoutInvalid(_("Say how it was paid (the transfer's reference or a note)."), field="reference")
    with transaction.atomic():
        locked = ticket_lock(ticket=ticket, check_version=False)
        amount = _payable(locked)
        if CompensationPayout.objects.filter(ticket=locked).exclude(status=PayoutStatus.FAILED).exists():
            raise PayoutRefused(_("This compensation is already paid or being paid."))
        payout = CompensationPayout(
            ticket=locked,
            method=method,
            amount=amount,
            status=PayoutStatus.SUBMITTED,
            idempotency_key=f"CP{uuid.uuid4().hex[:30]}",  # ≤ 32 letters and digits, as both providers allow
            payee=payee.strip(),
            payee_name=payee_name.strip(),
            reference=reference.strip(),
            recorded_by=actor.user,
        )
        if method == PayoutMethod.COUPON:
            payout.coupon = coupon_issue(ticket=locked, amount=amount)
            payout.reference = payout.coupon.code
        payout.save()
        if method in TRANSFER_GATEWAYS:
            transaction.on_commit(lambda: _hand_over(payout.pk), robust=True)
            return payout
        answer = PayoutAnswer(status=PayoutStatus.SUCCEEDED, payer=method.value, reference=payout.reference)
        return _settle(locked, payout, answer, actor)


def _payable(ticket: Ticket) -> Decimal:
    if ticket.state != LogisticsState.COMPENSATING:
        raise PayoutRefused(_("Only a logistics ticket waiting for its compensation can be paid."))
    amount: Decimal | None = getattr(ticket, "compensation_amount", None)
    if not amount:
        raise PayoutRefused(_("The ticket has no approved compensation."))
    # Read now, not from the caller's copy of the shop: the cap may have been lowered since the approval.
    cap = Shop.objects.values_list("compensation_cap", flat=True).get(pk=ticket.shop_id)
    if cap is not None and amount > cap:
        raise PayoutRefused(
            _("¥%(amount)s is above the shop's compensation cap of ¥%(cap)s.") % {"amount": amount, "cap": cap}
        )
    return amount


def _hand_over(payout_id: int) -> None:
    """After the commit: queue the transfer (by name: the tasks module imports this one). Tried once; with the
    broker down the payout waits for ``retry_payouts_task``."""
    current_app.tasks[TRANSFER_TASK].apply_async((payout_id,), retry=False)


def _transfer_request(payout: CompensationPayout) -> TransferRequest:
    return TransferRequest(
        idempotency_key=payout.idempotency_key,
        amount=payout.amount,
        shop_code=payout.ticket.shop.code,
        payee=payout.payee,
        payee_name=payout.payee_name,
        remark=_("Compensation for %(ticket)s") % {"ticket": payout.ticket.number},
    )


def payout_transfer_execute(*, payout_id: int) -> CompensationPayout:
    """Send (or send again, with the same key) a submitted transfer and settle what the provider answers.

    The provider is called outside any transaction; a ``GatewayError`` (timeout, rate limit, outage) is
    recorded on the payout (attempts, message) and raised for the caller's retry.
    """
    payout = CompensationPayout.objects.select_related("ticket__shop").get(pk=payout_id)
    if payout.status != PayoutStatus.SUBMITTED or payout.method not in TRANSFER_GATEWAYS:
        return payout
    request = _transfer_request(payout)
    try:
        gateway: TransferGateway = import_string(TRANSFER_GATEWAYS[PayoutMethod(payout.method)])(
            shop_code=request.shop_code
        )
        # Always the transfer itself, never only a query: both providers answer a repeated key with the transfer
        # already made (nothing moves twice), and a first attempt that never reached them is made now.
        answer = gateway.transfer(request)
    except GatewayError as exc:
        CompensationPayout.objects.filter(pk=payout.pk, status=PayoutStatus.SUBMITTED).update(
            attempts=payout.attempts + 1, message=str(exc)[:500]
        )
        raise
    if answer.status == PayoutStatus.SUBMITTED:
        CompensationPayout.objects.filter(pk=payout.pk).update(attempts=payout.attempts + 1)
        return payout
    return payout_settle(payout_id=payout.pk, answer=answer, actor=Actor.system(answer.payer))


def payout_settle(*, payout_id: int, answer: PayoutAnswer, actor: Actor) -> CompensationPayout:
    """Apply a provider's final answer to a submitted payout; idempotent (a settled payout is left as it is)."""
    payout = CompensationPayout.objects.select_related("ticket").get(pk=payout_id)
    with transaction.atomic():
        locked = ticket_lock(ticket=payout.ticket, check_version=False)
        payout = CompensationPayout.objects.select_for_update().get(pk=payout_id)
        if payout.status != PayoutStatus.SUBMITTED:
            return payout
        return _settle(locked, payout, answer, actor)


def _settle(ticket: Ticket, payout: CompensationPayout, answer: PayoutAnswer, actor: Actor) -> CompensationPayout:
    payout.status = answer.status
    payout.reference = answer.reference or payout.reference
    payout.message = answer.message
    payout.attempts += 1
    if answer.status == PayoutStatus.SUCCEEDED:
        payout.paid_at = answer.paid_at or timezone.now()
    payout.save(update_fields=["status", "reference", "message", "attempts", "paid_at"])
    if answer.status == PayoutStatus.SUCCEEDED:
        # The compensation step ends through its declared transition (compensating → resolved), never around it.
        reason = _("Compensation of ¥%(amount)s paid: %(method)s %(reference)s") % {
            "amount": payout.amount,
            "method": payout.get_method_display(),
            "reference": payout.reference,
        }
        ticket_act(ticket=ticket, actor=Actor.system(actor.name), action="resolve", held=True, reason=reason)
    return payout


def payouts_to_retry() -> list[int]:
    """Transfers still without a final answer (a lost answer, an outage): the beat task sends them again."""
    return list(
        CompensationPayout.objects.filter(
            status=PayoutStatus.SUBMITTED, method__in=list(TRANSFER_GATEWAYS)
        ).values_list("pk", flat=True)
    )
