"""Alipay (支付宝) refunds and transfers, through python-alipay-sdk with kefu's guarded client as its transport.

The SDK builds and signs the parameters (RSA2) and verifies each answer's signature over its response node;
its own ``urlopen`` is replaced (:meth:`GuardedAliPay.verified_sync_response`) by a form POST through
``kefu.core.outbound``, so a provider's address is checked and bounded like every other request kefu sends.

- ``alipay.trade.refund``: ``out_trade_no`` = kefu's order number, ``out_request_no`` = the refund's
  idempotency key. ``fund_change: "Y"`` means the money moved now; a repeated ``out_request_no`` answers
  ``fund_change: "N"`` (already refunded, nothing moved now): the refund is then read with
  ``alipay.trade.fastpay.refund.query`` and its state returned, never paid again.
- Business refusals (code 40004: ``ACQ.TRADE_HAS_FINISHED``, ``ACQ.REFUND_AMT_NOT_EQUAL_TOTAL``,
  ``ACQ.SELLER_BALANCE_NOT_ENOUGH``, ...) are FAILED with Alipay's words; ``ACQ.SYSTEM_ERROR``, code 20000
  (service unavailable, rate limits), a timeout, an unsigned or unverifiable answer are ``GatewayError``:
  retried with the same ``out_request_no``.
- Two modes, as the account says (:attr:`PaymentAccount.uses_certificates`): public-key mode (``AliPay``: answers
  verified with Alipay's public key) and certificate mode, 公钥证书模式 (``DCAliPay``: every request carries
  ``app_cert_sn`` and ``alipay_root_cert_sn``, answers are verified with the key of Alipay's public-key
  certificate). Alipay requires certificate mode for ``alipay.fund.trans.uni.transfer``.
- ``alipay.fund.trans.uni.transfer`` (``TRANS_ACCOUNT_NO_PWD``, ``out_biz_no`` = the payout's key) pays a
  compensation into the buyer's Alipay account; a repeated ``out_biz_no`` answers the same transfer.
"""

from __future__ import annotations

import binascii
import json
import warnings
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

# The SDK imports pyOpenSSL, whose import warns about DSA (cryptography deprecates it) in every process that loads
# this module; kefu signs with RSA2 only.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="DSA is deprecated")
    from alipay import AliPay, BaseAliPay, DCAliPay
    from alipay.exceptions import AliPayException, AliPayValidationError
    from OpenSSL.crypto import Error as OpenSSLError

from kefu.core import outbound
from payments.gateways.base import TransferRequest, account_for
from payments.models import PaymentAccount, Provider
from tickets.payments import GatewayError, NotificationRejected, PayoutAnswer, PayoutStatus, RefundNotice, RefundRequest

PRODUCTION_URL = "https://openapi.alipay.com/gateway.do"
BEIJING = ZoneInfo("Asia/Shanghai")
SUCCESS = "10000"
# Sub-codes that say "no answer yet, ask again with the same number" rather than a refusal.
RETRIED_SUB_CODES = frozenset({"ACQ.SYSTEM_ERROR", "AQC.SYSTEM_ERROR", "isp.unknow-error", "isp.rate-limit"})


class GuardedTransport(BaseAliPay):  # the SDK has no type hints (mypy: ignore_missing_imports)
    """What kefu changes in the SDK's clients (public-key and certificate mode alike): the HTTP call goes through
    ``kefu.core.outbound`` (a form POST to ``gateway_url``), the timestamp is Beijing time. Put before the SDK's
    class in the bases, so its ``build_body`` (which adds the certificate serials) runs inside this one."""

    def __init__(self, *, gateway_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._gateway = gateway_url

    def build_body(self, method: str, biz_content: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        data: dict[str, Any] = super().build_body(method, biz_content, **kwargs)
        # Alipay reads the timestamp as Beijing time; the SDK writes the server's local time.
        data["timestamp"] = datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        return data

    def verified_sync_response(self, data: dict[str, Any], response_type: str) -> dict[str, Any]:
        body = self.sign_data(data).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"}
        try:
            answer = outbound.post(self._gateway, data=body, headers=headers)
        except outbound.OutboundError as exc:
            raise GatewayError(_("Alipay did not answer: %(error)s") % {"error": exc}) from exc
        if not answer.ok:
            raise GatewayError(_("Alipay answered HTTP %(status)s.") % {"status": answer.status})
        try:
            node: dict[str, Any] = self._verify_and_return_sync_response(answer.body.decode(), response_type)
        except AliPayValidationError as exc:
            raise GatewayError(_("Alipay's answer is not signed by Alipay's key.")) from exc
        except (AliPayException, ValueError, AttributeError) as exc:
            raise GatewayError(_("Alipay refused the request: %(answer)s") % {"answer": _refused(answer)}) from exc
        return node


class GuardedAliPay(GuardedTransport, AliPay):
    """Public-key mode: answers verified with Alipay's public key."""


class GuardedCertificateAliPay(GuardedTransport, DCAliPay):
    """Certificate mode (公钥证书模式): the SDK adds ``app_cert_sn`` and ``alipay_root_cert_sn`` to every request
    and verifies answers with the public key of Alipay's certificate."""

    def _verify_and_return_sync_response(self, raw_string: str, response_type: str) -> dict[str, Any]:
        # A signed answer names the certificate Alipay signed it with: when Alipay renewed its certificate, say
        # so (staff upload the new one) rather than only "not signed by Alipay's key".
        answer = json.loads(raw_string)
        signed_with = answer.get("alipay_cert_sn") if isinstance(answer, dict) and answer.get("sign") else None
        ours = self.get_cert_sn(self._alipay_public_key_cert_string)
        if signed_with and signed_with != ours:
            raise GatewayError(
                _(
                    "Alipay signed its answer with its certificate %(answer)s, not with this account's (%(account)s): "
                    "upload Alipay's current public-key certificate (alipayCertPublicKey_RSA2.crt)."
                )
                % {"answer": signed_with, "account": ours}
            )
        node: dict[str, Any] = super()._verify_and_return_sync_response(raw_string, response_type)
        return node


def _refused(answer: outbound.OutboundResponse) -> str:
    """Alipay's words from an unsigned refusal (``error_response``), else the start of what it answered."""
    try:
        node = answer.json().get("error_response")
    except (ValueError, AttributeError):
        node = None
    return _words(node) if isinstance(node, dict) else answer.excerpt()


def _client(account: PaymentAccount) -> GuardedAliPay | GuardedCertificateAliPay:
    """The SDK's client in the account's mode; ``GatewayError`` when its keys or certificates cannot be read
    (configuration: retried after staff correct the account)."""
    common = {
        "gateway_url": account.base_url or PRODUCTION_URL,
        "appid": account.app_id,
        "app_private_key_string": account.private_key,
        "sign_type": "RSA2",
    }
    try:
        if account.uses_certificates:
            return GuardedCertificateAliPay(
                **common,
                app_public_key_cert_string=account.app_certificate,
                alipay_public_key_cert_string=account.provider_certificate,
                alipay_root_cert_string=account.provider_root_certificate,
            )
        return GuardedAliPay(**common, alipay_public_key_string=account.provider_public_key)
    except (ValueError, IndexError, TypeError, OpenSSLError) as exc:
        raise GatewayError(
            _("The Alipay account of shop %(shop)s has a key or certificate that cannot be read.")
            % {"shop": account.shop.code}
        ) from exc


def _paid_at(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)


def _words(node: dict[str, Any]) -> str:
    return f"{node.get('sub_msg') or node.get('msg') or ''} ({node.get('sub_code') or node.get('code')})"


def _refusal(node: dict[str, Any]) -> PayoutAnswer:
    """A non-success answer: FAILED for a business refusal, ``GatewayError`` for anything worth asking again."""
    if node.get("code") == "40004" and node.get("sub_code") not in RETRIED_SUB_CODES:
        return PayoutAnswer(status=PayoutStatus.FAILED, payer=AlipayGateway.name, message=_words(node))
    raise GatewayError(_("Alipay could not answer now: %(words)s") % {"words": _words(node)})


class AlipayGateway:
    name = "alipay"

    def __init__(self, account: PaymentAccount) -> None:
        self.client = _client(account)

    # -- refunds -----------------------------------------------------------------------------------------
    def submit(self, request: RefundRequest) -> PayoutAnswer:
        node = self.client.api_alipay_trade_refund(
            refund_amount=f"{request.amount:.2f}",
            out_trade_no=request.order_number,
            out_request_no=request.idempotency_key,
            refund_reason=request.reason[:256] or request.ticket_number,
        )
        if node.get("code") != SUCCESS:
            return _refusal(node)
        if node.get("fund_change") == "Y":
            return PayoutAnswer(
                status=PayoutStatus.SUCCEEDED,
                payer=self.name,
                reference=node.get("trade_no", ""),
                paid_at=_paid_at(node.get("gmt_refund_pay")),
            )
        # Already refunded with this out_request_no (a retry after a lost answer): read the refund's state.
        return self.query(request)

    def query(self, request: RefundRequest) -> PayoutAnswer:
        biz = {
            "out_trade_no": request.order_number,
            "out_request_no": request.idempotency_key,
            "query_options": ["gmt_refund_pay"],
        }
        node = self.client.server_api("alipay.trade.fastpay.refund.query", biz)
        if node.get("code") != SUCCESS:
            raise GatewayError(_("Alipay could not say how the refund stands: %(words)s") % {"words": _words(node)})
        # Alipay: without refund_status REFUND_SUCCESS the refund was not received (or did not go through): the
        # next attempt sends it again with the same out_request_no, which can never pay twice.
        if node.get("refund_status") != "REFUND_SUCCESS" or not node.get("refund_amount"):
            raise GatewayError(_("Alipay has no refund %(key)s (yet).") % {"key": request.idempotency_key})
        if Decimal(node["refund_amount"]) != request.amount:
            message = _("Alipay refunded ¥%(paid)s, not ¥%(asked)s.") % {
                "paid": node["refund_amount"],
                "asked": f"{request.amount:.2f}",
            }
            return PayoutAnswer(status=PayoutStatus.FAILED, payer=self.name, message=message)
        return PayoutAnswer(
            status=PayoutStatus.SUCCEEDED,
            payer=self.name,
            reference=node.get("trade_no", ""),
            paid_at=_paid_at(node.get("gmt_refund_pay")),
        )

    def notice(self, params: Mapping[str, str]) -> RefundNotice | None:
        """The verified refund of an asynchronous notification (``trade_status_sync`` with ``out_biz_no`` = the
        refund's ``out_request_no`` and ``gmt_refund``); ``None`` for a notification about something else (a
        payment). ``NotificationRejected`` when it is not signed with Alipay's key for this app."""
        data = dict(params)
        signature = data.pop("sign", "")
        if data.get("app_id") != self.client.appid or not signature:
            raise NotificationRejected(_("The notification is not for this Alipay app."))
        try:
            signed = self.client.verify(data, signature)
        except (AliPayException, ValueError, binascii.Error) as exc:
            raise NotificationRejected(_("The notification's signature cannot be checked.")) from exc
        if not signed:
            raise NotificationRejected(_("The notification is not signed with Alipay's key."))
        if not data.get("out_biz_no") or not data.get("gmt_refund"):
            return None
        answer = PayoutAnswer(
            status=PayoutStatus.SUCCEEDED,
            payer=self.name,
            reference=data.get("trade_no", ""),
            paid_at=_paid_at(data["gmt_refund"]),
        )
        return RefundNotice(idempotency_key=data["out_biz_no"], answer=answer)

    # -- compensation transfers --------------------------------------------------------------------------
    def transfer(self, request: TransferRequest) -> PayoutAnswer:
        payee: dict[str, str] = {"identity": request.payee, "identity_type": "ALIPAY_LOGON_ID"}
        if request.payee_name:
            payee["name"] = request.payee_name
        biz = {
            "out_biz_no": request.idempotency_key,
            "trans_amount": f"{request.amount:.2f}",
            "product_code": "TRANS_ACCOUNT_NO_PWD",
            "biz_scene": "DIRECT_TRANSFER",
            "order_title": request.remark[:64] or _("Compensation"),
            "payee_info": payee,
        }
        node = self.client.server_api("alipay.fund.trans.uni.transfer", biz)
        if node.get("code") != SUCCESS:
            return _refusal(node)
        status = {"SUCCESS": PayoutStatus.SUCCEEDED, "FAIL": PayoutStatus.FAILED}.get(
            node.get("status", ""), PayoutStatus.SUBMITTED
        )
        return PayoutAnswer(
            status=status, payer=self.name, reference=node.get("order_id", ""), paid_at=_paid_at(node.get("trans_date"))
        )

    def transfer_query(self, request: TransferRequest) -> PayoutAnswer:
        # A repeated out_biz_no answers the transfer already made (nothing moves twice), with its state.
        return self.transfer(request)


def for_shop(*, shop_code: str) -> AlipayGateway:
    """The factory ``KEFU_PAYMENT_GATEWAYS["alipay"]`` names: the shop's active Alipay account's gateway."""
    return AlipayGateway(account_for(shop_code=shop_code, provider=Provider.ALIPAY))
