"""Compensation payouts: a logistics ticket waiting in ``compensating`` is paid by an Alipay or WeChat Pay
transfer (the simulators), a coupon code from the shop's pool, or by hand; the payout resolves the ticket through
its declared transition, the shop's cap holds, and a transfer retried after a timeout pays once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Shop
from payments.errors import CouponPoolEmpty, PayoutInvalid, PayoutRefused
from payments.models import CompensationPayout, CouponCode, PaymentAccount, PayoutMethod
from payments.services.coupons import coupon_import, pool_is_low
from payments.services.payouts import compensation_pay, payout_transfer_execute
from payments.tasks import retry_payouts_task
from tests.factories.tickets import order_with_line, staff_actor, ticket_build, ticket_reload
from tests.simulators.alipay import AlipaySimulator
from tests.simulators.wechatpay import WechatPaySimulator
from tickets.errors import NotPermitted
from tickets.models import LogisticsTicket, TicketEvent
from tickets.payments import GatewayError, PayoutStatus

pytestmark = pytest.mark.django_db


def compensating(shop: Shop, amount: str = "20.00") -> LogisticsTicket:
    ticket = ticket_build(
        "logistics", "compensating", order=order_with_line(shop=shop), compensation_amount=Decimal(amount)
    )
    assert isinstance(ticket, LogisticsTicket)
    return ticket


def resolved_by_payout(ticket: LogisticsTicket) -> TicketEvent:
    assert ticket_reload(ticket).state == "resolved"
    return TicketEvent.objects.filter(ticket=ticket, to_state="resolved").get()


def test_a_coupon_code_is_issued_once_and_resolves_the_ticket(shop: Shop) -> None:
    coupon_import(shop=shop, text="C-10\nC-20,20.00\nC-50,50.00", value=Decimal("10.00"))
    ticket = compensating(shop)

    payout = compensation_pay(ticket=ticket, method=PayoutMethod.COUPON, actor=staff_actor("operations"))

    assert payout.status == PayoutStatus.SUCCEEDED
    assert payout.coupon is not None and payout.coupon.code == "C-20"  # the cheapest code worth the amount
    assert CouponCode.objects.get(code="C-20").issued_to_id == ticket.pk
    assert "C-20" in resolved_by_payout(ticket).reason
    with pytest.raises(PayoutRefused):  # paid already: no second code
        compensation_pay(ticket=ticket, method=PayoutMethod.COUPON, actor=staff_actor("operations"))
    assert CouponCode.objects.filter(issued_to__isnull=False).count() == 1


def test_an_empty_pool_refuses_and_writes_nothing(shop: Shop) -> None:
    coupon_import(shop=shop, text="C-10", value=Decimal("10.00"))
    ticket = compensating(shop)

    with pytest.raises(CouponPoolEmpty, match="¥20.00"):
        compensation_pay(ticket=ticket, method=PayoutMethod.COUPON, actor=staff_actor("operations"))

    assert not CompensationPayout.objects.exists()
    assert ticket_reload(ticket).state == "compensating"


def test_a_low_pool_warns(shop: Shop) -> None:
    coupon_import(shop=shop, text="\n".join(f"C-{n}" for n in range(3)), value=Decimal("10.00"))

    assert pool_is_low(shop=shop)  # 3 < KEFU_COUPON_POOL_LOW (10)


def test_a_bad_import_line_names_itself_and_imports_nothing(shop: Shop) -> None:
    with pytest.raises(PayoutInvalid, match="Line 2"):
        coupon_import(shop=shop, text="C-1,5.00\nC-2,five", value=None)
    assert not CouponCode.objects.exists()


def test_a_manual_payout_needs_a_reference_and_resolves_the_ticket(shop: Shop) -> None:
    ticket = compensating(shop)
    actor = staff_actor("operations")

    with pytest.raises(PayoutInvalid) as refused:
        compensation_pay(ticket=ticket, method=PayoutMethod.MANUAL, actor=actor)
    payout = compensation_pay(ticket=ticket, method=PayoutMethod.MANUAL, actor=actor, reference="银行转账 0091")

    assert refused.value.field == "reference"
    assert payout.status == PayoutStatus.SUCCEEDED
    assert payout.recorded_by == actor.user
    resolved_by_payout(ticket)


def test_the_shops_cap_is_respected_at_payout(shop: Shop) -> None:
    ticket = compensating(shop, "80.00")
    shop.compensation_cap = Decimal("50.00")
    shop.save(update_fields=["compensation_cap"])

    with pytest.raises(PayoutRefused, match="cap of ¥50.00"):
        compensation_pay(ticket=ticket, method=PayoutMethod.MANUAL, actor=staff_actor("operations"), reference="x")
    assert not CompensationPayout.objects.exists()


def test_only_a_ticket_waiting_for_its_compensation_is_paid(shop: Shop) -> None:
    ticket = ticket_build("logistics", "investigating", order=order_with_line(shop=shop))

    with pytest.raises(PayoutRefused):
        compensation_pay(ticket=ticket, method=PayoutMethod.MANUAL, actor=staff_actor("operations"), reference="x")


def test_an_alipay_transfer_pays_and_resolves(
    shop: Shop, alipay: AlipaySimulator, alipay_account: PaymentAccount
) -> None:
    ticket = compensating(shop)
    payout = compensation_pay(
        ticket=ticket, method=PayoutMethod.ALIPAY_TRANSFER, actor=staff_actor("operations"), payee="buyer@example.com"
    )
    assert payout.status == PayoutStatus.SUBMITTED
    assert ticket_reload(ticket).state == "compensating"  # not before the money moved

    paid = payout_transfer_execute(payout_id=payout.pk)

    assert paid.status == PayoutStatus.SUCCEEDED
    assert paid.reference == alipay.transfers[payout.idempotency_key]["order_id"]
    assert alipay.transfers[payout.idempotency_key]["payee"]["identity"] == "buyer@example.com"
    assert alipay.paid_out(payout.idempotency_key) == Decimal("20.00")
    resolved_by_payout(ticket)


@pytest.mark.usefixtures("short_deadline")
def test_an_alipay_transfer_retried_after_a_timeout_pays_once(
    shop: Shop, alipay: AlipaySimulator, alipay_account: PaymentAccount
) -> None:
    ticket = compensating(shop)
    payout = compensation_pay(
        ticket=ticket, method=PayoutMethod.ALIPAY_TRANSFER, actor=staff_actor("operations"), payee="buyer@example.com"
    )
    alipay.lose_answer_next, alipay.stall = 1, 2.0

    with pytest.raises(GatewayError):
        payout_transfer_execute(payout_id=payout.pk)
    assert CompensationPayout.objects.get(pk=payout.pk).attempts == 1
    paid = payout_transfer_execute(payout_id=payout.pk)

    assert paid.status == PayoutStatus.SUCCEEDED
    assert alipay.ledger == [("transfer", payout.idempotency_key, Decimal("20.00"))]
    resolved_by_payout(ticket)


def test_a_refused_transfer_leaves_the_ticket_for_another_way(
    shop: Shop, alipay: AlipaySimulator, alipay_account: PaymentAccount
) -> None:
    ticket = compensating(shop)
    payout = compensation_pay(
        ticket=ticket, method=PayoutMethod.ALIPAY_TRANSFER, actor=staff_actor("operations"), payee="nobody@example.com"
    )
    alipay.fail_next.append("PAYEE_NOT_EXIST")

    failed = payout_transfer_execute(payout_id=payout.pk)
    by_hand = compensation_pay(
        ticket=ticket, method=PayoutMethod.MANUAL, actor=staff_actor("operations"), reference="x"
    )

    assert failed.status == PayoutStatus.FAILED and "PAYEE_NOT_EXIST" in failed.message
    assert by_hand.status == PayoutStatus.SUCCEEDED
    assert alipay.ledger == []


@pytest.mark.usefixtures("short_deadline")
def test_a_wechat_pay_transfer_retried_after_a_timeout_pays_once(
    shop: Shop, wechatpay: WechatPaySimulator, wechatpay_account: PaymentAccount
) -> None:
    ticket = compensating(shop)
    payout = compensation_pay(
        ticket=ticket, method=PayoutMethod.WECHATPAY_TRANSFER, actor=staff_actor("operations"), payee="o-MYE42l80oe"
    )
    wechatpay.lose_answer_next, wechatpay.stall = 1, 2.0

    with pytest.raises(GatewayError):
        payout_transfer_execute(payout_id=payout.pk)
    paid = payout_transfer_execute(payout_id=payout.pk)

    assert paid.status == PayoutStatus.SUCCEEDED
    assert wechatpay.ledger == [("transfer", payout.idempotency_key, 2000)]
    resolved_by_payout(ticket)


def test_a_transfer_needs_the_buyers_account(shop: Shop) -> None:
    with pytest.raises(PayoutInvalid) as refused:
        compensation_pay(
            ticket=compensating(shop), method=PayoutMethod.WECHATPAY_TRANSFER, actor=staff_actor("operations")
        )
    assert refused.value.field == "payee"


def test_only_operations_or_logistics_staff_pay(shop: Shop) -> None:
    ticket = compensating(shop)

    with pytest.raises(NotPermitted):
        compensation_pay(ticket=ticket, method=PayoutMethod.MANUAL, actor=staff_actor("warehouse"), reference="x")
    assert ticket_reload(ticket).state == "compensating"


def test_the_beat_task_sends_transfers_left_without_an_answer(
    shop: Shop, wechatpay: WechatPaySimulator, wechatpay_account: PaymentAccount
) -> None:
    ticket = compensating(shop)
    payout = compensation_pay(
        ticket=ticket, method=PayoutMethod.WECHATPAY_TRANSFER, actor=staff_actor("operations"), payee="o-MYE42l80oe"
    )
    wechatpay.rate_limit_next = 1  # the first round finds WeChat Pay busy

    assert retry_payouts_task() == 0
    assert retry_payouts_task() == 1

    assert CompensationPayout.objects.get(pk=payout.pk).status == PayoutStatus.SUCCEEDED
    assert wechatpay.ledger == [("transfer", payout.idempotency_key, 2000)]
    assert retry_payouts_task() == 0  # nothing left to send
