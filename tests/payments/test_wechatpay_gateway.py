"""The WeChat Pay gateway against the local WeChat Pay simulator: signed requests, verified answers, refunds by
out_refund_no (paid exactly once), error codes, timeouts, and the encrypted refund notification."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from payments.gateways import wechatpay as gateway_module
from payments.models import PaymentAccount
from tests.payments.conftest import refund_request
from tests.simulators.wechatpay import WechatPaySimulator, key_text, signed_headers
from tickets.payments import GatewayError, NotificationRejected, PayoutStatus

pytestmark = pytest.mark.django_db


def gateway() -> gateway_module.WechatPayGateway:
    return gateway_module.for_shop(shop_code="paysim")


def lowered(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def test_a_refund_is_submitted_then_confirmed_by_the_query(
    wechatpay: WechatPaySimulator, wechatpay_account: PaymentAccount
) -> None:
    wechatpay.pay("SO20261207001", Decimal("100.00"))

    submitted = gateway().submit(refund_request())
    wechatpay.finish("RF0001")
    confirmed = gateway().query(refund_request())

    assert submitted.status == PayoutStatus.SUBMITTED
    assert submitted.reference == wechatpay.refunds["RF0001"]["refund_id"]
    assert confirmed.status == PayoutStatus.SUCCEEDED
    assert confirmed.paid_at is not None
    assert wechatpay.paid_out("RF0001") == 3000  # fen
    assert wechatpay.refunds["RF0001"]["notify_url"].endswith("/api/v1/payments/wechatpay/notify/paysim")


def test_a_repeated_out_refund_no_answers_the_existing_refund(
    wechatpay: WechatPaySimulator, wechatpay_account: PaymentAccount
) -> None:
    wechatpay.pay("SO20261207001", Decimal("100.00"))
    wechatpay.instant = True
    first = gateway().submit(refund_request())

    again = gateway().submit(refund_request())

    assert (first.status, again.status) == (PayoutStatus.SUCCEEDED, PayoutStatus.SUCCEEDED)
    assert again.reference == first.reference
    assert wechatpay.ledger == [("refund", "RF0001", 3000)]


@pytest.mark.parametrize(("code", "words"), [("NOT_ENOUGH", "余额不足"), ("INVALID_REQUEST", "订单已全额退款")])
def test_a_business_refusal_fails_with_wechat_pays_words(
    wechatpay: WechatPaySimulator, wechatpay_account: PaymentAccount, code: str, words: str
) -> None:
    wechatpay.pay("SO20261207001", Decimal("100.00"))
    wechatpay.fail_next.append(code)

    answer = gateway().submit(refund_request())

    assert answer.status == PayoutStatus.FAILED
    assert words in answer.message and code in answer.message
    assert wechatpay.paid_out("RF0001") == 0


@pytest.mark.parametrize("finished", ["ABNORMAL", "CLOSED"])
def test_an_abnormal_or_closed_refund_is_failed(
    wechatpay: WechatPaySimulator, wechatpay_account: PaymentAccount, finished: str
) -> None:
    wechatpay.pay("SO20261207001", Decimal("100.00"))
    gateway().submit(refund_request())
    wechatpay.finish("RF0001", finished)

    answer = gateway().query(refund_request())

    assert answer.status == PayoutStatus.FAILED
    assert answer.message == finished


def test_rate_limits_and_outages_are_gateway_errors(
    wechatpay: WechatPaySimulator, wechatpay_account: PaymentAccount
) -> None:
    wechatpay.pay("SO20261207001", Decimal("100.00"))
    wechatpay.rate_limit_next = 1
    wechatpay.fail_next.append("SYSTEM_ERROR")

    with pytest.raises(GatewayError, match="FREQUENCY_LIMITED"):
        gateway().submit(refund_request())
    with pytest.raises(GatewayError, match="SYSTEM_ERROR"):
        gateway().submit(refund_request())
    assert gateway().submit(refund_request()).status == PayoutStatus.SUBMITTED
    assert wechatpay.paid_out("RF0001") == 3000


@pytest.mark.usefixtures("short_deadline")
def test_a_lost_answer_then_a_retry_with_the_same_number_pays_once(
    wechatpay: WechatPaySimulator, wechatpay_account: PaymentAccount
) -> None:
    wechatpay.pay("SO20261207001", Decimal("100.00"))
    wechatpay.lose_answer_next, wechatpay.stall = 1, 2.0

    with pytest.raises(GatewayError, match="no complete answer"):
        gateway().submit(refund_request())
    answer = gateway().submit(refund_request())

    assert answer.status == PayoutStatus.SUBMITTED
    assert wechatpay.ledger == [("refund", "RF0001", 3000)]


def test_a_request_kefu_signed_with_another_key_is_refused(
    wechatpay: WechatPaySimulator, wechatpay_account: PaymentAccount
) -> None:
    wechatpay.pay("SO20261207001", Decimal("100.00"))
    wechatpay.merchant_public_key = key_text("platform_public_key")  # not the merchant's key

    with pytest.raises(GatewayError, match="SIGN_ERROR"):
        gateway().submit(refund_request())
    assert wechatpay.ledger == []


def test_an_answer_not_signed_by_the_platform_is_not_believed(
    wechatpay: WechatPaySimulator, wechatpay_account: PaymentAccount
) -> None:
    wechatpay.pay("SO20261207001", Decimal("100.00"))
    wechatpay.platform_private_key = key_text("merchant_private_key")

    with pytest.raises(GatewayError, match="not signed with the platform key"):
        gateway().submit(refund_request())


def test_the_notification_is_verified_and_decrypted(
    wechatpay: WechatPaySimulator, wechatpay_account: PaymentAccount
) -> None:
    wechatpay.pay("SO20261207001", Decimal("100.00"))
    gateway().submit(refund_request())
    wechatpay.finish("RF0001")
    body = wechatpay.notification("RF0001")

    notice = gateway().notice(
        lowered(signed_headers(body, wechatpay.platform_private_key, wechatpay.platform_key_id)), body
    )

    assert notice.idempotency_key == "RF0001"
    assert notice.answer.status == PayoutStatus.SUCCEEDED
    assert notice.answer.reference == wechatpay.refunds["RF0001"]["refund_id"]
    assert json.loads(body)["event_type"] == "REFUND.SUCCESS"


def test_a_notification_with_a_forged_signature_or_another_key_is_rejected(
    wechatpay: WechatPaySimulator, wechatpay_account: PaymentAccount
) -> None:
    wechatpay.pay("SO20261207001", Decimal("100.00"))
    gateway().submit(refund_request())
    body = wechatpay.notification("RF0001")
    forged = lowered(signed_headers(body, key_text("merchant_private_key"), wechatpay.platform_key_id))
    other_key = wechatpay.notification("RF0001", apiv3_key="another0apiv3key0of032characters")
    signed_other = lowered(signed_headers(other_key, wechatpay.platform_private_key, wechatpay.platform_key_id))

    with pytest.raises(NotificationRejected, match="not signed"):
        gateway().notice(forged, body)
    with pytest.raises(NotificationRejected, match="does not decrypt"):
        gateway().notice(signed_other, other_key)
