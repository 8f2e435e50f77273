"""The payment gateway refunds go through: an interface, and the default that records a manual refund.

Real gateways (Alipay, WeChat Pay, the platform's refund API) live outside the merchant's walls; they
implement :class:`PaymentGateway` and are selected with ``KEFU_PAYMENT_GATEWAY``. Every call carries the
refund's idempotency key, so retrying a refund that timed out never pays twice.
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


@dataclass(frozen=True)
class RefundRequest:
    idempotency_key: str
    amount: Decimal
    shop_code: str
    order_number: str
    ticket_number: str
    order_total: Decimal = Decimal("0.00")  # stand-in defaults: m-life's v2 makes these fields required
    reason: str = ""


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


# -- the payment interface v2: a STAND-IN on branch m-pay, replaced by m-life's "payments interface v2" commit
# (same names and fields, from the shared contract) when that branch is merged.
class PayoutStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


@dataclass(frozen=True)
class PayoutAnswer:
    status: PayoutStatus
    payer: str
    reference: str = ""
    message: str = ""
    paid_at: datetime | None = None


@dataclass(frozen=True)
class RefundNotice:
    idempotency_key: str
    answer: PayoutAnswer


class NotificationRejected(Exception):
    """A notification whose signature or decryption fails (answered 4xx)."""
