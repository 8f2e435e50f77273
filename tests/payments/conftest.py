"""The payments tests' providers: the Alipay and WeChat Pay simulators served on free ports, and a shop whose
payment accounts point at them (the same gateway code as in production; only the base URL differs)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from pytest_django import Settings

from orders.models import Shop
from payments.models import PaymentAccount, Provider
from tests.factories.orders import ShopFactory
from tests.simulators import alipay as alipay_sim
from tests.simulators import wechatpay as wechatpay_sim
from tickets.payments import RefundRequest


@pytest.fixture
def alipay() -> Iterator[alipay_sim.AlipaySimulator]:
    with alipay_sim.serve() as simulator:
        yield simulator


@pytest.fixture
def wechatpay() -> Iterator[wechatpay_sim.WechatPaySimulator]:
    with wechatpay_sim.serve() as simulator:
        yield simulator


@pytest.fixture
def shop(db: None) -> Shop:
    shop: Shop = ShopFactory(code="paysim")
    return shop


@pytest.fixture
def short_deadline(settings: Settings) -> None:
    """The outbound client gives up after 1 s (the simulators' stalls last 2 s)."""
    settings.KEFU_OUTBOUND_DEADLINE_SECONDS = 1.0


@pytest.fixture
def alipay_account(shop: Shop, alipay: alipay_sim.AlipaySimulator) -> PaymentAccount:
    return PaymentAccount.objects.create(
        shop=shop,
        provider=Provider.ALIPAY,
        base_url=alipay.url,
        app_id=alipay_sim.APP_ID,
        private_key=alipay_sim.key_text("app_private_key"),
        provider_public_key=alipay_sim.key_text("alipay_public_key"),
    )


@pytest.fixture
def alipay_certificate_account(shop: Shop, alipay: alipay_sim.AlipaySimulator) -> PaymentAccount:
    """An Alipay account in certificate mode (公钥证书模式), the simulator in the same mode."""
    alipay.use_certificates()
    return PaymentAccount.objects.create(
        shop=shop,
        provider=Provider.ALIPAY,
        base_url=alipay.url,
        app_id=alipay_sim.APP_ID,
        private_key=alipay_sim.key_text("app_private_key"),
        app_certificate=alipay_sim.certificate_text("app_cert_public_key"),
        provider_certificate=alipay_sim.certificate_text("alipay_cert_public_key_rsa2"),
        provider_root_certificate=alipay_sim.certificate_text("alipay_root_cert"),
    )


@pytest.fixture
def wechatpay_account(shop: Shop, wechatpay: wechatpay_sim.WechatPaySimulator) -> PaymentAccount:
    return PaymentAccount.objects.create(
        shop=shop,
        provider=Provider.WECHATPAY,
        base_url=wechatpay.url,
        app_id=wechatpay_sim.APP_ID,
        merchant_id=wechatpay_sim.MCH_ID,
        merchant_serial=wechatpay_sim.MERCHANT_SERIAL,
        private_key=wechatpay_sim.key_text("merchant_private_key"),
        provider_public_key=wechatpay_sim.key_text("platform_public_key"),
        provider_key_id=wechatpay_sim.PLATFORM_KEY_ID,
        apiv3_key=wechatpay_sim.APIV3_KEY,
        notify_url="https://kefu.example.com/api/v1/payments/wechatpay/notify/paysim",
    )


def refund_request(key: str = "RF0001", *, amount: str = "30.00", order: str = "SO20261207001") -> RefundRequest:
    return RefundRequest(
        idempotency_key=key,
        amount=Decimal(amount),
        shop_code="paysim",
        order_number=order,
        order_total=Decimal("100.00"),
        ticket_number="RT20261207000001",
        reason="商品破损",
    )
