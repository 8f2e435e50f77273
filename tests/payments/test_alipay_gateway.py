"""The Alipay gateway against the local Alipay simulator: signed requests and answers through the guarded
client, money moving exactly once per out_request_no, refusals, timeouts and the notification's signature."""

from __future__ import annotations

from decimal import Decimal

import pytest

from payments.gateways import alipay as gateway_module
from payments.models import PaymentAccount
from tests.payments.conftest import refund_request
from tests.simulators.alipay import AlipaySimulator, key_text
from tickets.payments import GatewayError, NotificationRejected, PayoutStatus

pytestmark = pytest.mark.django_db


def gateway() -> gateway_module.AlipayGateway:
    return gateway_module.for_shop(shop_code="paysim")


def test_a_refund_is_paid_and_confirmed(alipay: AlipaySimulator, alipay_account: PaymentAccount) -> None:
    trade = alipay.pay("SO20261207001", Decimal("100.00"))

    answer = gateway().submit(refund_request())

    assert answer.status == PayoutStatus.SUCCEEDED
    assert answer.payer == "alipay"
    assert answer.reference == trade["trade_no"]
    assert answer.paid_at is not None
    assert alipay.paid_out("RF0001") == Decimal("30.00")


def test_a_repeated_request_pays_once_and_answers_the_existing_refund(
    alipay: AlipaySimulator, alipay_account: PaymentAccount
) -> None:
    alipay.pay("SO20261207001", Decimal("100.00"))
    gateway().submit(refund_request())

    again = gateway().submit(refund_request())

    assert again.status == PayoutStatus.SUCCEEDED  # "already refunded": read back with the refund query
    assert alipay.calls == ["alipay.trade.refund", "alipay.trade.refund", "alipay.trade.fastpay.refund.query"]
    assert alipay.paid_out("RF0001") == Decimal("30.00")


@pytest.mark.parametrize(
    ("sub_code", "words"),
    [
        ("ACQ.TRADE_HAS_FINISHED", "交易已完结"),
        ("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限"),
        ("ACQ.SELLER_BALANCE_NOT_ENOUGH", "卖家余额不足"),
    ],
)
def test_a_business_refusal_fails_with_alipays_words(
    alipay: AlipaySimulator, alipay_account: PaymentAccount, sub_code: str, words: str
) -> None:
    alipay.pay("SO20261207001", Decimal("100.00"))
    alipay.fail_next.append(sub_code)

    answer = gateway().submit(refund_request())

    assert answer.status == PayoutStatus.FAILED
    assert words in answer.message and sub_code in answer.message
    assert alipay.paid_out("RF0001") == Decimal("0.00")


def test_more_than_was_paid_is_refused(alipay: AlipaySimulator, alipay_account: PaymentAccount) -> None:
    alipay.pay("SO20261207001", Decimal("100.00"))

    answer = gateway().submit(refund_request(amount="100.01"))

    assert answer.status == PayoutStatus.FAILED
    assert "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL" in answer.message


@pytest.mark.parametrize("mode", ["system_error_next", "rate_limit_next"])
def test_a_provider_without_an_answer_is_a_gateway_error(
    alipay: AlipaySimulator, alipay_account: PaymentAccount, mode: str
) -> None:
    alipay.pay("SO20261207001", Decimal("100.00"))
    setattr(alipay, mode, 1)

    with pytest.raises(GatewayError):
        gateway().submit(refund_request())
    assert gateway().submit(refund_request()).status == PayoutStatus.SUCCEEDED
    assert alipay.paid_out("RF0001") == Decimal("30.00")


@pytest.mark.usefixtures("short_deadline")
def test_a_lost_answer_then_a_retry_with_the_same_key_pays_once(
    alipay: AlipaySimulator, alipay_account: PaymentAccount
) -> None:
    alipay.pay("SO20261207001", Decimal("100.00"))
    alipay.lose_answer_next, alipay.stall = 1, 2.0

    with pytest.raises(GatewayError):
        gateway().submit(refund_request())  # Alipay refunded, the answer never came
    answer = gateway().submit(refund_request())

    assert answer.status == PayoutStatus.SUCCEEDED
    assert alipay.paid_out("RF0001") == Decimal("30.00")
    assert alipay.ledger == [("refund", "RF0001", Decimal("30.00"))]


def test_an_answer_signed_with_another_key_is_not_believed(
    alipay: AlipaySimulator, alipay_account: PaymentAccount
) -> None:
    alipay.pay("SO20261207001", Decimal("100.00"))
    alipay.alipay_private_key = key_text("app_private_key")  # not Alipay's key

    with pytest.raises(GatewayError, match="not signed by Alipay"):
        gateway().submit(refund_request())


def test_the_query_of_an_unknown_refund_is_a_gateway_error(
    alipay: AlipaySimulator, alipay_account: PaymentAccount
) -> None:
    alipay.pay("SO20261207001", Decimal("100.00"))

    with pytest.raises(GatewayError, match="no refund RF0001"):
        gateway().query(refund_request())


def test_a_signed_notification_is_a_refund_notice(alipay: AlipaySimulator, alipay_account: PaymentAccount) -> None:
    alipay.pay("SO20261207001", Decimal("100.00"))
    gateway().submit(refund_request())

    notice = gateway().notice(alipay.notification("SO20261207001", "RF0001"))

    assert notice is not None
    assert notice.idempotency_key == "RF0001"
    assert notice.answer.status == PayoutStatus.SUCCEEDED


def test_a_notification_with_a_bad_signature_is_rejected(
    alipay: AlipaySimulator, alipay_account: PaymentAccount
) -> None:
    alipay.pay("SO20261207001", Decimal("100.00"))
    gateway().submit(refund_request())
    forged = alipay.notification("SO20261207001", "RF0001")
    forged["refund_fee"] = "99.00"  # changed after signing

    with pytest.raises(NotificationRejected):
        gateway().notice(forged)


def test_a_shop_without_an_account_cannot_refund(shop: object) -> None:
    with pytest.raises(GatewayError, match="no active Alipay account"):
        gateway()
