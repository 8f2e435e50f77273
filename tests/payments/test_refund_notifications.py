"""Refunds of storefront orders paid with Alipay or WeChat Pay, end to end: ``refund_execute`` submits through
the provider's gateway (the simulators), the providers' notifications reach the webhooks (a real HTTP POST to a
live server for WeChat Pay), are verified, and settle the refund once; a forged one is refused and writes nothing.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Shop
from payments.gateways import wechatpay as wechatpay_gateway
from payments.models import PaymentAccount
from tests.factories.tickets import buyer_actor, order_with_line, staff_actor
from tests.payments.conftest import refund_request
from tests.simulators.alipay import AlipaySimulator
from tests.simulators.wechatpay import WechatPaySimulator, signed_headers
from tickets.models import EventType, Refund, RefundStatus, ReturnTicket, TicketEvent
from tickets.payments import GatewayError
from tickets.services import ticket_act
from tickets.services.opening import return_open
from tickets.services.refunds import refund_execute
from tickets.types import LineRequest

ALIPAY_NOTIFY = "/api/v1/payments/alipay/notify/paysim"
WECHATPAY_NOTIFY = "/api/v1/payments/wechatpay/notify/paysim"
# A duplicated notification: the shop's account, the refund's ticket id, then in refund_settle's savepoint the
# ticket (read, then locked as its kind) and the refund (already succeeded: nothing written).
QUERIES_PER_DUPLICATE = 7


def refund_for(shop: Shop, provider: str, *, paid: str = "100.00") -> tuple[ReturnTicket, Refund]:
    """A refund-only return of a whole order paid through ``provider``, approved: its refund requested."""
    order = order_with_line(shop=shop, payment_provider=provider, paid_amount=Decimal(paid))
    opened = return_open(
        order=order,
        actor=buyer_actor(order),
        lines=[LineRequest("SKU-A", 2)],
        reason_code="not_received",
        refund_only=True,
    )
    ticket = ticket_act(ticket=opened, actor=staff_actor("operations"), action="approve")
    return ticket, Refund.objects.get(ticket=ticket)


def refund_events(ticket: ReturnTicket) -> int:
    return TicketEvent.objects.filter(ticket=ticket, event_type=EventType.REFUND).count()


@pytest.mark.django_db
def test_an_alipay_refund_is_paid_once_and_its_duplicated_notification_changes_nothing(
    client, shop: Shop, alipay: AlipaySimulator, alipay_account: PaymentAccount
) -> None:
    ticket, refund = refund_for(shop, "alipay")
    alipay.pay(ticket.order.number, Decimal("100.00"))

    paid = refund_execute(refund_id=refund.pk)
    events = refund_events(ticket)
    notification = alipay.notification(ticket.order.number, refund.idempotency_key)
    answers = [client.post(ALIPAY_NOTIFY, notification) for _ in range(2)]

    assert paid.status == RefundStatus.SUCCEEDED and paid.payer == "alipay"
    assert ReturnTicket.objects.get(pk=ticket.pk).state == "refunded"
    assert [(a.status_code, a.content) for a in answers] == [(200, b"success"), (200, b"success")]
    assert refund_events(ticket) == events  # the notification confirmed what was known: nothing written
    assert alipay.ledger == [("refund", refund.idempotency_key, Decimal("100.00"))]


@pytest.mark.django_db
def test_an_alipay_refund_whose_answer_was_lost_is_paid_once_on_the_retry(
    shop: Shop, alipay: AlipaySimulator, alipay_account: PaymentAccount, short_deadline: None
) -> None:
    ticket, refund = refund_for(shop, "alipay")
    alipay.pay(ticket.order.number, Decimal("100.00"))
    alipay.lose_answer_next, alipay.stall = 1, 2.0

    with pytest.raises(GatewayError):
        refund_execute(refund_id=refund.pk)
    paid = refund_execute(refund_id=refund.pk)

    assert paid.status == RefundStatus.SUCCEEDED
    assert alipay.ledger == [("refund", refund.idempotency_key, Decimal("100.00"))]


@pytest.mark.django_db
def test_a_refused_alipay_refund_fails_with_alipays_words(
    shop: Shop, alipay: AlipaySimulator, alipay_account: PaymentAccount
) -> None:
    ticket, refund = refund_for(shop, "alipay")
    alipay.pay(ticket.order.number, Decimal("100.00"))
    alipay.fail_next.append("ACQ.SELLER_BALANCE_NOT_ENOUGH")

    failed = refund_execute(refund_id=refund.pk)

    assert failed.status == RefundStatus.FAILED
    assert "卖家余额不足" in failed.message
    assert alipay.ledger == []


@pytest.mark.django_db
def test_a_forged_alipay_notification_is_refused_and_writes_nothing(
    client, shop: Shop, alipay: AlipaySimulator, alipay_account: PaymentAccount
) -> None:
    ticket, refund = refund_for(shop, "alipay")
    alipay.pay(ticket.order.number, Decimal("100.00"))
    alipay.refunds[(ticket.order.number, refund.idempotency_key)] = {
        "amount": Decimal("100.00"),
        "at": "2026-12-07 12:00:00",
    }
    events = refund_events(ticket)

    answer = client.post(ALIPAY_NOTIFY, alipay.notification(ticket.order.number, refund.idempotency_key, sign=False))
    unknown_shop = client.post("/api/v1/payments/alipay/notify/nosuchshop", {"app_id": "1"})

    assert (answer.status_code, answer.content) == (400, b"fail")
    assert unknown_shop.status_code == 404
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.REQUESTED
    assert refund_events(ticket) == events


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_wechat_pay_refund_is_settled_by_its_notification_once(
    live_server, shop: Shop, wechatpay: WechatPaySimulator, wechatpay_account: PaymentAccount
) -> None:
    ticket, refund = refund_for(shop, "wechatpay")
    wechatpay.pay(ticket.order.number, Decimal("100.00"))

    submitted = refund_execute(refund_id=refund.pk)
    wechatpay.finish(refund.idempotency_key)
    body = wechatpay.notification(refund.idempotency_key)
    first = wechatpay.notify(live_server.url + WECHATPAY_NOTIFY, body)
    events = refund_events(ticket)
    duplicate = wechatpay.notify(live_server.url + WECHATPAY_NOTIFY, body)

    assert submitted.status == RefundStatus.SUBMITTED and submitted.payer == "wechatpay"
    assert (first[0], duplicate[0]) == (204, 204)
    settled = Refund.objects.get(pk=refund.pk)
    assert settled.status == RefundStatus.SUCCEEDED
    assert settled.reference == wechatpay.refunds[refund.idempotency_key]["refund_id"]
    assert ReturnTicket.objects.get(pk=ticket.pk).state == "refunded"
    assert refund_events(ticket) == events
    assert wechatpay.ledger == [("refund", refund.idempotency_key, 10000)]


@pytest.mark.django_db
def test_a_wechat_pay_notification_with_a_bad_signature_is_refused_and_writes_nothing(
    client, shop: Shop, wechatpay: WechatPaySimulator, wechatpay_account: PaymentAccount
) -> None:
    ticket, refund = refund_for(shop, "wechatpay")
    wechatpay.pay(ticket.order.number, Decimal("100.00"))
    refund_execute(refund_id=refund.pk)
    wechatpay.finish(refund.idempotency_key)
    events = refund_events(ticket)
    body = wechatpay.notification(refund.idempotency_key)

    answer = client.post(
        WECHATPAY_NOTIFY,
        body,
        content_type="application/json",
        headers={
            "Wechatpay-Timestamp": "1765000000",
            "Wechatpay-Nonce": "n",
            "Wechatpay-Signature": "Zm9yZ2Vk",
            "Wechatpay-Serial": wechatpay.platform_key_id,
        },
    )

    assert answer.status_code == 401
    assert answer.json()["code"] == "FAIL"
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.SUBMITTED
    assert refund_events(ticket) == events


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_abnormal_wechat_pay_refund_fails_with_its_state(
    live_server, shop: Shop, wechatpay: WechatPaySimulator, wechatpay_account: PaymentAccount
) -> None:
    ticket, refund = refund_for(shop, "wechatpay")
    wechatpay.pay(ticket.order.number, Decimal("100.00"))
    refund_execute(refund_id=refund.pk)
    wechatpay.finish(refund.idempotency_key, "ABNORMAL")

    status, _body = wechatpay.notify(live_server.url + WECHATPAY_NOTIFY, wechatpay.notification(refund.idempotency_key))

    assert status == 204
    failed = Refund.objects.get(pk=refund.pk)
    assert (failed.status, failed.message) == (RefundStatus.FAILED, "ABNORMAL")


@pytest.mark.django_db
def test_a_duplicated_notification_costs_a_few_statements(
    client, shop: Shop, alipay: AlipaySimulator, alipay_account: PaymentAccount, django_assert_num_queries
) -> None:
    ticket, refund = refund_for(shop, "alipay")
    alipay.pay(ticket.order.number, Decimal("100.00"))
    refund_execute(refund_id=refund.pk)
    notification = alipay.notification(ticket.order.number, refund.idempotency_key)

    with django_assert_num_queries(QUERIES_PER_DUPLICATE):
        answer = client.post(ALIPAY_NOTIFY, notification)

    assert answer.content == b"success"


@pytest.mark.django_db
def test_a_notification_about_a_refund_kefu_does_not_know_is_404(
    client, shop: Shop, wechatpay: WechatPaySimulator, wechatpay_account: PaymentAccount
) -> None:
    wechatpay.pay("SO-ELSEWHERE", Decimal("100.00"))
    gateway_refund = refund_request("RF-NOT-OURS", amount="10.00", order="SO-ELSEWHERE")
    wechatpay_gateway.for_shop(shop_code="paysim").submit(gateway_refund)
    body = wechatpay.notification("RF-NOT-OURS")
    headers = signed_headers(body, wechatpay.platform_private_key, wechatpay.platform_key_id)

    answer = client.post(WECHATPAY_NOTIFY, body, content_type="application/json", headers=headers)

    assert answer.status_code == 404
    assert answer.json()["code"] == "FAIL"
