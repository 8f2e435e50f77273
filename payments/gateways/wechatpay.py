"""WeChat Pay APIv3 (微信支付) refunds, refund notifications and merchant transfers, with wechatpayv3's helpers.

wechatpayv3 signs each request (``WECHATPAY2-SHA256-RSA2048`` Authorization, ``utils.build_authorization``),
verifies each answer's ``Wechatpay-Signature`` over ``timestamp\\nnonce\\nbody\\n`` (``utils.rsa_verify``, with the
platform public key or the platform certificate's key, its id checked against ``Wechatpay-Serial``) and decrypts
a notification's resource (``utils.aes_decrypt``, AEAD_AES_256_GCM with the APIv3 key). Its HTTP client is not
used: every request goes through ``kefu.core.outbound``.

- ``POST /v3/refund/domestic/refunds`` with ``out_refund_no`` = the refund's idempotency key; a repeated number
  answers the refund already made. ``SUCCESS`` → SUCCEEDED; ``PROCESSING`` → SUBMITTED (the notification or
  the query settles it); ``ABNORMAL``/``CLOSED`` → FAILED. ``GET /v3/refund/domestic/refunds/{out_refund_no}``.
- Refusals with a business code (``NOT_ENOUGH``, ``INVALID_REQUEST``, ``PARAM_ERROR``, ``RESOURCE_NOT_EXISTS``,
  ``USER_ACCOUNT_ABNORMAL``) are FAILED with WeChat Pay's message; 429, 5xx, ``SIGN_ERROR``, a timeout or an
  unverifiable answer are ``GatewayError``: retried with the same number.
- ``POST /v3/transfer/batches`` (商家转账, one detail per batch, ``out_batch_no`` = ``out_detail_no`` = the
  payout's key) and the detail query pay a compensation into the buyer's WeChat wallet.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from wechatpayv3.utils import (
    aes_decrypt,
    build_authorization,
    load_certificate,
    load_private_key,
    load_public_key,
    rsa_verify,
)

from kefu.core import outbound
from payments.gateways.base import TransferRequest, account_for, fen
from payments.models import PaymentAccount, Provider
from tickets.payments import GatewayError, NotificationRejected, PayoutAnswer, PayoutStatus, RefundNotice, RefundRequest

PRODUCTION_URL = "https://api.mch.weixin.qq.com"
REFUNDS = "/v3/refund/domestic/refunds"
BATCHES = "/v3/transfer/batches"
REFUSALS = frozenset({"NOT_ENOUGH", "INVALID_REQUEST", "PARAM_ERROR", "RESOURCE_NOT_EXISTS", "USER_ACCOUNT_ABNORMAL"})
REFUND_STATES = {
    "SUCCESS": PayoutStatus.SUCCEEDED,
    "PROCESSING": PayoutStatus.SUBMITTED,
    "ABNORMAL": PayoutStatus.FAILED,
    "CLOSED": PayoutStatus.FAILED,
}
SIGNATURE_AGE_SECONDS = 300  # an answer or notification signed longer ago than this is refused (a replay)


class Refused(Exception):
    """WeChat Pay refused the request for good (a business code): the caller turns it into FAILED."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class WechatPayGateway:
    name = "wechatpay"

    def __init__(self, account: PaymentAccount) -> None:
        self.base = (account.base_url or PRODUCTION_URL).rstrip("/")
        self.app_id = account.app_id
        self.merchant_id = account.merchant_id
        self.merchant_serial = account.merchant_serial
        self.private_key = load_private_key(account.private_key)
        pem = account.provider_public_key
        certificate = load_certificate(pem) if "BEGIN CERTIFICATE" in pem else None
        self.platform_key = certificate.public_key() if certificate else load_public_key(pem)
        self.platform_key_id = account.provider_key_id
        self.apiv3_key = account.apiv3_key
        self.notify_url = account.notify_url

    # -- signing and verifying ---------------------------------------------------------------------------
    def verified(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Whether ``body`` carries WeChat Pay's signature (an answer or a notification): the platform key's id,
        a recent timestamp, and the RSA signature over ``timestamp\\nnonce\\nbody\\n``."""
        timestamp = headers.get("wechatpay-timestamp", "")
        if headers.get("wechatpay-serial") != self.platform_key_id or not timestamp.isdigit():
            return False
        if abs(time.time() - int(timestamp)) > SIGNATURE_AGE_SECONDS:
            return False
        nonce, signature = headers.get("wechatpay-nonce", ""), headers.get("wechatpay-signature", "")
        return bool(rsa_verify(timestamp, nonce, body.decode("utf-8", errors="replace"), signature, self.platform_key))

    def _call(self, method: str, path: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps(data, ensure_ascii=False) if data is not None else ""
        authorization = build_authorization(
            path, method, self.merchant_id, self.merchant_serial, self.private_key, data=body
        )
        headers = {"Authorization": authorization, "Accept": "application/json", "Content-Type": "application/json"}
        try:
            answer = outbound.request(method, self.base + path, data=body.encode() or None, headers=headers)
        except outbound.OutboundError as exc:
            raise GatewayError(_("WeChat Pay did not answer: %(error)s") % {"error": exc}) from exc
        if answer.status == 429 or answer.status >= 500:
            raise GatewayError(_("WeChat Pay could not answer now: %(answer)s") % {"answer": answer.excerpt()})
        if not self.verified(answer.headers, answer.body):
            raise GatewayError(
                _("WeChat Pay's answer is not signed with the platform key (HTTP %(status)s).")
                % {"status": answer.status}
            )
        try:
            payload: dict[str, Any] = answer.json()
        except ValueError as exc:
            raise GatewayError(_("WeChat Pay's answer is not JSON: %(answer)s") % {"answer": answer.excerpt()}) from exc
        if answer.ok:
            return payload
        code, message = str(payload.get("code", "")), str(payload.get("message", ""))
        if code in REFUSALS:
            raise Refused(code, message)
        raise GatewayError(
            _("WeChat Pay refused the request: %(message)s (%(code)s)") % {"message": message, "code": code}
        )

    # -- refunds -----------------------------------------------------------------------------------------
    def _answer(self, refund: dict[str, Any]) -> PayoutAnswer:
        status = REFUND_STATES.get(refund.get("status") or refund.get("refund_status", ""), PayoutStatus.SUBMITTED)
        message = "" if status == PayoutStatus.SUCCEEDED else str(refund.get("status") or refund.get("refund_status"))
        return PayoutAnswer(
            status=status,
            payer=self.name,
            reference=refund.get("refund_id", ""),
            message=message,
            paid_at=_when(refund.get("success_time")) if status == PayoutStatus.SUCCEEDED else None,
        )

    def submit(self, request: RefundRequest) -> PayoutAnswer:
        data = {
            "out_trade_no": request.order_number,
            "out_refund_no": request.idempotency_key,
            "reason": request.reason[:80] or request.ticket_number,
            "amount": {"refund": fen(request.amount), "total": fen(request.order_total), "currency": "CNY"},
        }
        if self.notify_url:  # where WeChat Pay posts the refund's result (kefu's webhook for this shop)
            data["notify_url"] = self.notify_url
        try:
            return self._answer(self._call("POST", REFUNDS, data))
        except Refused as exc:
            return PayoutAnswer(status=PayoutStatus.FAILED, payer=self.name, message=str(exc))

    def query(self, request: RefundRequest) -> PayoutAnswer:
        try:
            return self._answer(self._call("GET", f"{REFUNDS}/{request.idempotency_key}"))
        except Refused as exc:
            raise GatewayError(str(exc)) from exc  # not found (yet): the refund is not refused by that

    def notice(self, headers: Mapping[str, str], body: bytes) -> RefundNotice:
        """The verified refund notification (``REFUND.SUCCESS``/``ABNORMAL``/``CLOSED``) of ``body``.
        ``NotificationRejected`` when its signature or its decryption fails."""
        if not self.verified(headers, body):
            raise NotificationRejected(_("The notification is not signed with WeChat Pay's platform key."))
        try:
            envelope = json.loads(body)
            resource = envelope["resource"]
            plain = aes_decrypt(
                resource["nonce"], resource["ciphertext"], resource.get("associated_data", ""), self.apiv3_key
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise NotificationRejected(_("The notification is not a WeChat Pay refund notification.")) from exc
        if plain is None:
            raise NotificationRejected(_("The notification's resource does not decrypt with the APIv3 key."))
        refund = json.loads(plain)
        if refund.get("mchid") != self.merchant_id or not refund.get("out_refund_no"):
            raise NotificationRejected(_("The notification is for another merchant."))
        return RefundNotice(idempotency_key=refund["out_refund_no"], answer=self._answer(refund))

    # -- compensation transfers --------------------------------------------------------------------------
    def transfer(self, request: TransferRequest) -> PayoutAnswer:
        amount = fen(request.amount)
        remark = request.remark[:32] or _("Compensation")
        data = {
            "appid": self.app_id,
            "out_batch_no": request.idempotency_key,
            "batch_name": remark,
            "batch_remark": remark,
            "total_amount": amount,
            "total_num": 1,
            "transfer_detail_list": [
                {
                    "out_detail_no": request.idempotency_key,
                    "transfer_amount": amount,
                    "transfer_remark": remark,
                    "openid": request.payee,
                }
            ],
        }
        try:
            self._call("POST", BATCHES, data)
        except Refused as exc:
            return PayoutAnswer(status=PayoutStatus.FAILED, payer=self.name, message=str(exc))
        return self.transfer_query(request)

    def transfer_query(self, request: TransferRequest) -> PayoutAnswer:
        key = request.idempotency_key
        try:
            detail = self._call("GET", f"{BATCHES}/out-batch-no/{key}/details/out-detail-no/{key}")
        except Refused:
            return PayoutAnswer(status=PayoutStatus.SUBMITTED, payer=self.name)  # accepted, detail not there yet
        state = detail.get("detail_status", "")
        status = {"SUCCESS": PayoutStatus.SUCCEEDED, "FAIL": PayoutStatus.FAILED}.get(state, PayoutStatus.SUBMITTED)
        return PayoutAnswer(
            status=status,
            payer=self.name,
            reference=detail.get("detail_id", ""),
            message=detail.get("fail_reason", "") if status == PayoutStatus.FAILED else "",
            paid_at=_when(detail.get("update_time")) if status == PayoutStatus.SUCCEEDED else None,
        )


def for_shop(*, shop_code: str) -> WechatPayGateway:
    """The factory ``KEFU_PAYMENT_GATEWAYS["wechatpay"]`` names: the shop's active WeChat Pay account's gateway."""
    return WechatPayGateway(account_for(shop_code=shop_code, provider=Provider.WECHATPAY))
