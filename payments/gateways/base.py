"""What the provider gateways share: the transfer request, the account a gateway is built from, errors."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.utils.translation import gettext as _

from payments.models import PaymentAccount, Provider
from tickets.payments import GatewayError, PayoutAnswer


@dataclass(frozen=True)
class TransferRequest:
    """A compensation paid into the buyer's wallet. ``idempotency_key``: Alipay's out_biz_no, WeChat Pay's
    out_detail_no (and, one detail per batch, its out_batch_no)."""

    idempotency_key: str
    amount: Decimal  # yuan, 2 places
    shop_code: str
    payee: str  # Alipay login id (email or phone) / WeChat openid
    payee_name: str = ""  # Alipay checks it against the account holder's real name when given
    remark: str = ""


class TransferGateway(Protocol):
    name: str

    def transfer(self, request: TransferRequest) -> PayoutAnswer: ...  # idempotent per idempotency_key

    def transfer_query(self, request: TransferRequest) -> PayoutAnswer: ...


def account_for(*, shop_code: str, provider: Provider) -> PaymentAccount:
    """The shop's active account at ``provider``; ``GatewayError`` when there is none (configuration, retried
    after staff add it: a refund is never failed for good because an account is missing)."""
    account = PaymentAccount.objects.filter(shop__code=shop_code, provider=provider, active=True).first()
    if account is None:
        raise GatewayError(
            _("Shop %(shop)s has no active %(provider)s account.") % {"shop": shop_code, "provider": provider.label}
        )
    return account


def fen(amount: Decimal) -> int:
    """Yuan (2 places) in fen, as WeChat Pay counts."""
    return int((amount * 100).to_integral_value())
