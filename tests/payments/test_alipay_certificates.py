"""Alipay's certificate mode (公钥证书模式) against the simulator in the same mode: requests carry the app's and the
root certificates' serials, answers are verified with the key of Alipay's certificate; refunds and compensation
transfers pay once; a certificate Alipay does not know is refused with Alipay's words; the admin form accepts the
three certificates and refuses what the gateway could not use."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from desk.admin.payments import PaymentAccountForm
from orders.models import Shop
from payments.gateways import alipay as gateway_module
from payments.models import PaymentAccount, PayoutMethod, Provider
from payments.services.payouts import compensation_pay, payout_transfer_execute
from tests.factories.tickets import staff_actor, ticket_reload
from tests.payments.conftest import refund_request
from tests.payments.test_payouts import compensating
from tests.simulators.alipay import (
    APP_ID,
    AlipaySimulator,
    certificate_sn,
    certificate_text,
    key_text,
    root_certificate_sn,
)
from tickets.payments import GatewayError, PayoutStatus

pytestmark = pytest.mark.django_db


def gateway() -> gateway_module.AlipayGateway:
    return gateway_module.for_shop(shop_code="paysim")


def serial(name: str) -> str:
    from cryptography import x509

    return certificate_sn(x509.load_pem_x509_certificate(certificate_text(name).encode()))


def test_the_requests_carry_the_certificates_serials(alipay_certificate_account: PaymentAccount) -> None:
    client = gateway().client

    body = client.build_body("alipay.trade.refund", {"out_trade_no": "SO1"})

    assert body["app_cert_sn"] == serial("app_cert_public_key")
    assert body["alipay_root_cert_sn"] == root_certificate_sn(certificate_text("alipay_root_cert"))
    assert "_" not in body["alipay_root_cert_sn"]  # the EC root of the file is not counted, as Alipay's SM2 root


def test_a_refund_in_certificate_mode_is_paid_once(
    alipay: AlipaySimulator, alipay_certificate_account: PaymentAccount
) -> None:
    trade = alipay.pay("SO20261207001", Decimal("100.00"))

    first = gateway().submit(refund_request())
    again = gateway().submit(refund_request())  # a retry: read back, never paid twice

    assert first.status == again.status == PayoutStatus.SUCCEEDED
    assert first.reference == trade["trade_no"]
    assert alipay.calls == ["alipay.trade.refund", "alipay.trade.refund", "alipay.trade.fastpay.refund.query"]
    assert alipay.ledger == [("refund", "RF0001", Decimal("30.00"))]


def test_a_compensation_transfer_in_certificate_mode_pays_once_and_resolves(
    shop: Shop, alipay: AlipaySimulator, alipay_certificate_account: PaymentAccount
) -> None:
    ticket = compensating(shop)
    payout = compensation_pay(
        ticket=ticket, method=PayoutMethod.ALIPAY_TRANSFER, actor=staff_actor("operations"), payee="buyer@example.com"
    )

    paid = payout_transfer_execute(payout_id=payout.pk)
    again = gateway_module.for_shop(shop_code="paysim").transfer_query(
        gateway_module.TransferRequest(
            idempotency_key=payout.idempotency_key,
            amount=Decimal("20.00"),
            shop_code="paysim",
            payee="buyer@example.com",
        )
    )

    assert paid.status == again.status == PayoutStatus.SUCCEEDED
    assert paid.reference == alipay.transfers[payout.idempotency_key]["order_id"]
    assert alipay.ledger == [("transfer", payout.idempotency_key, Decimal("20.00"))]
    assert ticket_reload(ticket).state == "resolved"


def test_a_certificate_alipay_does_not_know_is_refused_with_alipays_words(
    alipay: AlipaySimulator, alipay_certificate_account: PaymentAccount
) -> None:
    alipay.pay("SO20261207001", Decimal("100.00"))
    alipay_certificate_account.app_certificate = certificate_text("app_cert_public_key_other")
    alipay_certificate_account.save()

    with pytest.raises(GatewayError) as refused:
        gateway().submit(refund_request())

    assert "应用公钥证书不存在" in str(refused.value) and "isv.app-cert-not-exist" in str(refused.value)
    assert alipay.ledger == []


def test_a_public_key_request_to_a_certificate_mode_app_is_refused(
    alipay: AlipaySimulator, alipay_account: PaymentAccount
) -> None:
    alipay.use_certificates()
    alipay.pay("SO20261207001", Decimal("100.00"))

    with pytest.raises(GatewayError, match="isv.app-cert-not-exist"):
        gateway().submit(refund_request())
    assert alipay.ledger == []


def test_an_answer_not_signed_with_the_key_of_alipays_certificate_is_not_believed(
    alipay: AlipaySimulator, alipay_certificate_account: PaymentAccount
) -> None:
    alipay.pay("SO20261207001", Decimal("100.00"))
    alipay.alipay_private_key = key_text("app_private_key")

    with pytest.raises(GatewayError, match="not signed by Alipay"):
        gateway().submit(refund_request())


def test_public_key_mode_still_works(alipay: AlipaySimulator, alipay_account: PaymentAccount) -> None:
    alipay.pay("SO20261207001", Decimal("100.00"))

    answer = gateway().submit(refund_request())

    assert answer.status == PayoutStatus.SUCCEEDED
    assert not alipay_account.uses_certificates
    assert "app_cert_sn" not in gateway().client.build_body("alipay.trade.refund", {})


def test_an_unreadable_certificate_is_a_gateway_error_not_a_crash(alipay_certificate_account: PaymentAccount) -> None:
    alipay_certificate_account.provider_certificate = "-----BEGIN CERTIFICATE-----\nbm90\n-----END CERTIFICATE-----\n"
    alipay_certificate_account.save()

    with pytest.raises(GatewayError, match="cannot be read"):
        gateway()


def form_data(shop: Shop, **certificates: str) -> dict[str, Any]:
    return {
        "shop": shop.pk,
        "provider": Provider.ALIPAY,
        "active": "on",
        "app_id": APP_ID,
        "private_key": key_text("app_private_key"),
        "provider_public_key": "",
        **certificates,
    }


CERTIFICATES = {
    "app_certificate": "app_cert_public_key",
    "provider_certificate": "alipay_cert_public_key_rsa2",
    "provider_root_certificate": "alipay_root_cert",
}


def test_the_admin_form_accepts_the_three_certificates(shop: Shop) -> None:
    texts = {field: certificate_text(name).replace("\n", "\r\n") for field, name in CERTIFICATES.items()}
    form = PaymentAccountForm(data=form_data(shop, **texts))

    assert form.is_valid(), form.errors
    account = form.save()
    assert account.uses_certificates
    assert "\r" not in account.provider_root_certificate  # the SDK splits the root file on blank lines
    assert gateway().client.app_cert_sn == serial("app_cert_public_key")


@pytest.mark.parametrize(
    ("certificates", "field", "words"),
    [
        ({"app_certificate": "app_cert_public_key"}, "provider_certificate", "all three"),
        ({**CERTIFICATES, "app_certificate": "alipay_cert_public_key_rsa2"}, "app_certificate", "private key"),
        ({**CERTIFICATES, "provider_root_certificate": None}, "provider_root_certificate", "no RSA root"),
        ({**CERTIFICATES, "provider_certificate": None}, "provider_certificate", "not a PEM certificate"),
    ],
)
def test_the_admin_form_refuses_certificates_the_gateway_cannot_use(
    shop: Shop, certificates: dict[str, str | None], field: str, words: str
) -> None:
    ec_root_only = certificate_text("alipay_root_cert").split("\n\n")[0]
    texts = {
        name: certificate_text(file)
        if file
        else ("not a certificate" if name != "provider_root_certificate" else ec_root_only)
        for name, file in certificates.items()
    }
    form = PaymentAccountForm(data=form_data(shop, **texts))

    assert not form.is_valid()
    assert any(words in message for message in form.errors[field])


def test_an_answer_signed_with_a_renewed_alipay_certificate_asks_for_the_new_certificate(
    alipay: AlipaySimulator, alipay_certificate_account: PaymentAccount
) -> None:
    alipay.pay("SO20261207001", Decimal("100.00"))
    alipay.alipay_certificate = certificate_text("app_cert_public_key_other")  # another serial than the account's

    with pytest.raises(GatewayError, match="alipayCertPublicKey_RSA2.crt") as refused:
        gateway().submit(refund_request())

    assert serial("app_cert_public_key_other") in str(refused.value)


def test_a_root_certificate_alipay_does_not_know_is_refused_with_alipays_words(
    alipay: AlipaySimulator, alipay_certificate_account: PaymentAccount
) -> None:
    alipay.pay("SO20261207001", Decimal("100.00"))
    alipay_certificate_account.provider_root_certificate = certificate_text("alipay_cert_public_key_rsa2")
    alipay_certificate_account.save()

    with pytest.raises(GatewayError, match="无效支付宝根证书序列号"):
        gateway().submit(refund_request())
    assert alipay.ledger == []
