"""The payment interface v2: how a refund reaches whoever pays it, and how their answer comes back.

The shared contract between the refund lifecycle (``tickets.services.refunds``) and the gateways of the
``payments`` app (Alipay, WeChat Pay). A gateway is chosen per order (``Order.payment_provider``) through
``settings.KEFU_PAYMENT_GATEWAYS``; "manual" always exists and puts the refund in the finance queue.

Every call carries the refund's idempotency key (Alipay ``out_request_no`` / WeChat Pay ``out_refund_no``), so a
retry after a timeout never pays twice. An answer is applied with ``tickets.services.refunds.refund_settle``,
whether it came back from ``submit``, from ``query``, from a verified notification or from a finance clerk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.db import models
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

MANUAL = "manual"


class PayoutStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")  # the payer has it and has not confirmed yet (async)
    SUCCEEDED = "succeeded", _("Succeeded")  # money moved; confirmed by the payer
    FAILED = "failed", _("Failed")  # the payer refused it for good (message says why)


@dataclass(frozen=True)
class RefundRequest:
    idempotency_key: str  # Refund.idempotency_key = Alipay out_request_no / WeChat Pay out_refund_no
    amount: Decimal  # yuan, 2 places (gateways convert to fen themselves where needed)
    shop_code: str
    order_number: str  # kefu's order number = the provider's out_trade_no
    order_total: Decimal  # what the buyer paid for the whole order (WeChat Pay's amount.total)
    ticket_number: str
    reason: str = ""  # shown to the buyer by the provider (refund_reason / reason)


@dataclass(frozen=True)
class PayoutAnswer:
    status: PayoutStatus
    payer: str  # who pays: "manual", "alipay", "wechatpay" (a platform code for marketplace orders)
    reference: str = ""  # the provider's own id for the refund (WeChat refund_id, Alipay trade_no)
    message: str = ""  # the provider's words when failed or still processing
    paid_at: datetime | None = None


@dataclass(frozen=True)
class RefundNotice:
    """A verified asynchronous notification from a provider."""

    idempotency_key: str
    answer: PayoutAnswer


class GatewayError(Exception):
    """No answer (timeout, 5xx, rate limit, network): retried with the SAME idempotency key."""


class NotificationRejected(Exception):
    """A notification whose signature or decryption fails (answered 4xx)."""


class PaymentGateway(Protocol):
    name: str

    def submit(self, request: RefundRequest) -> PayoutAnswer:
        """Idempotent per ``idempotency_key``; an "already exists" answer from the provider is NOT an error:
        the gateway queries and returns the existing refund's state."""
        ...

    def query(self, request: RefundRequest) -> PayoutAnswer: ...


class ManualRefundGateway:
    """Nobody pays automatically: the refund waits in the finance queue until a clerk records the payout."""

    name = MANUAL

    def __init__(self, *, shop_code: str = "") -> None:
        self.shop_code = shop_code

    def submit(self, request: RefundRequest) -> PayoutAnswer:
        return PayoutAnswer(status=PayoutStatus.SUBMITTED, payer=MANUAL)

    def query(self, request: RefundRequest) -> PayoutAnswer:
        # Only a finance clerk confirms a manual payout (refund_settle from the finance queue).
        return PayoutAnswer(status=PayoutStatus.SUBMITTED, payer=MANUAL)


def gateway_paths() -> dict[str, str]:
    """Provider → dotted factory path, with "manual" always present."""
    return {MANUAL: "tickets.payments.ManualRefundGateway", **settings.KEFU_PAYMENT_GATEWAYS}


def gateway_for(*, provider: str, shop_code: str) -> PaymentGateway:
    """The gateway that refunds an order paid through ``provider``. An unknown provider is a configuration
    error (``ImproperlyConfigured``), not a silent manual payout."""
    from django.core.exceptions import ImproperlyConfigured

    path = gateway_paths().get(provider or MANUAL)
    if path is None:
        raise ImproperlyConfigured(f"KEFU_PAYMENT_GATEWAYS has no gateway for the payment provider {provider!r}")
    return import_string(path)(shop_code=shop_code)
