"""The payment gateway refunds go through: an interface, and the default that records a manual refund.

Real gateways (Alipay, WeChat Pay, the platform's refund API) live outside the merchant's walls; they
implement :class:`PaymentGateway` and are selected with ``KEFU_PAYMENT_GATEWAY``. Every call carries the
refund's idempotency key, so retrying a refund that timed out never pays twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class RefundRequest:
    idempotency_key: str
    amount: Decimal
    shop_code: str
    order_number: str
    ticket_number: str


@dataclass(frozen=True)
class RefundResult:
    reference: str


class GatewayError(Exception):
    """The gateway did not refund (yet). Retried with backoff, then escalated."""


class PaymentGateway(Protocol):
    def refund(self, request: RefundRequest) -> RefundResult: ...


class ManualRefundGateway:
    """Records the refund as done by hand in the platform's back office (the default)."""

    def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult(reference=f"MANUAL-{request.idempotency_key}")


def get_gateway() -> PaymentGateway:
    return import_string(settings.KEFU_PAYMENT_GATEWAY)()
