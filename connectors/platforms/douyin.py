"""Douyin shop (抖店) open platform: signed calls to the gateway, after-sales cases (售后单) read and answered.

Reference: ``PLATFORMS.md`` §4 (public SDK sign helpers; ``ecommerce.sdk.douyin`` ``AfterSaleOperateReq``; SKIT
ByteDance ``DouyinShop/Models/Aftersale``). What kefu uses:

- The call: ``POST {gateway}/{path}`` (``/afterSale/List``), ``method`` = the path with ``/`` → ``.``
  (``afterSale.List``). System parameters in the query string (``app_key``, ``method``, ``access_token``,
  ``timestamp`` (Unix seconds), ``v=2``, ``sign_method``, ``sign``); the business parameters as ``param_json``,
  compact JSON with keys sorted recursively, sent as the body (:func:`param_json`).
- Signing: ``app_secret + "app_key"+… + "method"+… + "param_json"+… + "timestamp"+… + "v"+"2" + app_secret``;
  ``md5`` → hex MD5 of that, ``hmac-sha256`` → hex HMAC-SHA256 with the app secret as key (:func:`sign`).
- Answers ``{code, msg, sub_code, sub_msg, data}``: 10000 ok; 20000 system error → transient; 40004 bad
  parameters → permanent; 50002 business failure → permanent (``isv.business-failed:20309541``: the case's
  status changed, kefu re-fetches it); a rate-limit answer (its code is unconfirmed: a ``sub_code`` naming a
  limit, or HTTP 429) → rate limited.
- Reading: ``/afterSale/List`` (``page`` from **0**, ``size`` ≤ 100, ``update_start_time``/``update_end_time``,
  ``order_by=["update_time asc"]``), ``/afterSale/Detail`` (``after_sale_id``). Amounts in fen, times Unix seconds;
  ``update_time`` is both the case's modified time and its version (``/afterSale/operate`` checks it).
- Writing: ``/afterSale/operate`` with one item per call: 101 agree return (``logistics.receiver_address_id``),
  201 agree 仅退款, 202 refuse 仅退款 (``reject_reason_code``, evidence), 301 agree exchange, 311 exchange
  shipment (the seller's waybill). Other operate types (refuse a return, agree the refund after the goods came
  back, 补寄 shipment) are not confirmed in public sources: those commands raise a permanent error saying so, and
  the ticket goes back to the staff to act in the Douyin back office.
- Push: POST of a JSON array of ``{tag, msg_id, data}`` (``data`` a JSON string), signed
  ``md5(app_key + raw body + app_secret)``; the header's name is unconfirmed: kefu reads ``event-sign``.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone

from connectors.base import (
    BadSignature,
    CaseKind,
    CaseLine,
    CaseSnapshot,
    CaseStatus,
    Connector,
    OrderLineSnapshot,
    OrderSnapshot,
    Page,
    Platform,
    PushMessage,
    TokenGrant,
)
from connectors.commands import Command, CommandResult, ErrorKind, PlatformError
from connectors.platforms import router
from connectors.platforms.douyin_codes import (
    API_VERSION,
    DEFAULT_BASE_URL,
    KINDS,
    MAX_BODY,
    MERCHANT_TURN,
    PAGE_SIZE,
    PUSH_SIGNATURE,
    REFUND_ONLY_TYPES,
    STATUSES,
    TAGS,
    code_text,
    error_from,
    first_present,
    from_unix,
    param_json,
    push_data,
    push_items,
    push_signature,
    sign,
    unconfirmed,
)
from connectors.platforms.orders import case_lines, the_case


class DouyinConnector(Connector):
    platform = Platform.DOUYIN
    sign_method = "md5"

    # -- the call --------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return (self.connection.base_url or DEFAULT_BASE_URL).rstrip("/")

    def call(self, path: str, business: Mapping[str, Any], *, token: bool = True) -> dict[str, Any]:
        """POST one signed call to ``path`` (``/afterSale/List``); the answer's ``data``, or :class:`PlatformError`.
        ``token=False``: without the access token (``/token/refresh``)."""
        method = path.strip("/").replace("/", ".")
        body = param_json(business)
        timestamp = str(int(timezone.now().timestamp()))
        query = {
            "app_key": self.connection.app_key,
            "method": method,
            "access_token": self.connection.access_token if token else "",
            "timestamp": timestamp,
            "v": API_VERSION,
            "sign_method": self.sign_method,
            "sign": sign(
                app_key=self.connection.app_key,
                app_secret=self.connection.app_secret,
                method=method,
                params_json=body,
                timestamp=timestamp,
                sign_method=self.sign_method,
            ),
        }
        url = f"{self.base_url}/{path.strip('/')}?{urlencode(query)}"
        response = router.send(
            url,
            data=body.encode(),
            content_type="application/json;charset=utf-8",
            max_body=MAX_BODY,
            rate_limited_status=429,
        )
        answer = router.decoded(response)
        if not isinstance(answer, dict) or "code" not in answer:
            raise router.unexpected(response)
        if str(answer["code"]) != "10000":
            raise error_from(answer, response.status)
        data: dict[str, Any] = answer.get("data") or {}
        return data

    # -- reading ---------------------------------------------------------------------------------------
    def snapshot(self, info: Mapping[str, Any], order: Mapping[str, Any]) -> CaseSnapshot:
        """One case in neutral terms: ``info`` is a list item's ``aftersale_info`` or the detail's
        ``process_info.after_sale_info`` (with ``arbitrate_status`` merged in), ``order`` its ``order_info``."""
        raw_type = code_text(info, "after_sale_type", "aftersale_type")
        raw_status = code_text(info, "after_sale_status", "aftersale_status")
        kind = KINDS.get(raw_type, CaseKind.UNKNOWN)
        status = STATUSES.get(raw_status, CaseStatus.UNKNOWN)
        arbitrate = str(info.get("arbitrate_status") or "0")
        arbitration = arbitrate != "0"
        if arbitration and status not in (CaseStatus.CLOSED, CaseStatus.REFUNDED, CaseStatus.UNKNOWN):
            status = CaseStatus.ARBITRATION
        deadline = from_unix(info.get("status_deadline")) if raw_status in MERCHANT_TURN else None
        update_time = int(info.get("update_time") or 0)
        modified = from_unix(update_time) or from_unix(info.get("create_time")) or timezone.now()
        items = order.get("related_order_info") or order.get("sku_order_infos") or []
        # The lines the case is about: those with items asked back (all of them when the answer does not say).
        concerned = [item for item in items if int(item.get("aftersale_item_num") or 0) > 0] or items
        lines = tuple(
            CaseLine(
                sku=str(item.get("shop_sku_code") or item.get("product_id") or ""),
                quantity=int(item.get("aftersale_item_num") or item.get("item_num") or 1),
                name=str(item.get("product_name", "")),
                external_id=str(item.get("sku_order_id") or item.get("order_id") or ""),
            )
            for item in concerned
        )
        paid = sum(int(item.get("pay_amount") or 0) for item in concerned)
        refund = int(first_present(info, "refund_total_amount", "refund_amount") or 0)
        return CaseSnapshot(
            platform=Platform.DOUYIN,
            shop_external_id=str(info.get("shop_id") or self.connection.external_id),
            case_id=str(first_present(info, "after_sale_id", "aftersale_id")),
            order_id=str(first_present(order, "shop_order_id", "order_id") or info.get("related_id") or ""),
            kind=kind,
            status=status,
            raw_type=raw_type,
            raw_status=raw_status if not arbitration else f"{raw_status}/arbitrate_status={arbitrate}",
            modified_at=modified,
            version=update_time,
            refund_fen=refund,
            paid_fen=paid or refund,
            reason=str(info.get("reason_text") or info.get("reason") or ""),
            merchant_deadline=deadline,
            lines=lines,
            buyer_id=str(order.get("buyer_id") or order.get("doudian_open_id") or ""),
            buyer_nick=str(order.get("buyer_nick") or ""),
            return_carrier=str(info.get("return_logistics_company_name") or ""),
            return_waybill=str(info.get("return_logistics_code") or ""),
            arbitration=arbitration,
            raw={"aftersale_info": dict(info), "order_info": dict(order)},
        )

    def pull(self, cursor: str, *, until: datetime | None = None) -> Page:
        """One page of ``/afterSale/List`` over an update-time window, oldest change first.

        The cursor is ``<window start>|<window end>|<page>`` (Unix seconds; pages count from 0). A window is at
        most ``KEFU_CONNECTOR_PULL_WINDOW_SECONDS`` wide and ends at ``until`` (default: now); once its last page is
        read, the next window starts ``KEFU_CONNECTOR_PULL_OVERLAP_SECONDS`` before its end.
        """
        now = int((until or timezone.now()).timestamp())
        width = int(settings.KEFU_CONNECTOR_PULL_WINDOW_SECONDS)
        if cursor:
            start_text, end_text, page_text = cursor.split("|")
            start, end, page = int(start_text), int(end_text), int(page_text)
        else:
            start, end, page = now - width, now, 0
        if page == 0:  # a new window: as wide as allowed, up to now
            end = min(now, start + width)
        data = self.call(
            "/afterSale/List",
            {
                "page": page,
                "size": PAGE_SIZE,
                "update_start_time": start,
                "update_end_time": end,
                "order_by": ["update_time asc"],  # without it rows move between pages (PLATFORMS.md)
            },
        )
        snapshots = []
        for item in data.get("items") or []:
            info = dict(item.get("aftersale_info") or {})
            text = item.get("text_part") or {}
            if text.get("reason_text"):  # the list's ``reason`` is a code; its words are in text_part
                info["reason_text"] = text["reason_text"]
            snapshots.append(self.snapshot(info, item.get("order_info") or {}))
        if data.get("has_more") in (True, "true"):
            return Page(snapshots, f"{start}|{end}|{page + 1}", has_more=True)
        overlap = int(settings.KEFU_CONNECTOR_PULL_OVERLAP_SECONDS)
        next_start = max(start, end - overlap) if end < now else max(start, now - overlap)
        return Page(snapshots, f"{next_start}|{now}|0", has_more=end < now)

    def fetch(self, case_id: str) -> CaseSnapshot:
        data = self.call("/afterSale/Detail", {"after_sale_id": case_id})
        process = data.get("process_info") or {}
        info = dict(process.get("after_sale_info") or {})
        arbitrate = process.get("arbitrate_info") or {}
        if "arbitrate_status" not in info and arbitrate.get("arbitrate_status") is not None:
            info["arbitrate_status"] = arbitrate["arbitrate_status"]
        if not info:
            raise PlatformError(ErrorKind.TRANSIENT, "unexpected_answer", f"no after_sale_info for {case_id}")
        return self.snapshot(info, data.get("order_info") or {})

    def fetch_order(self, order_id: str, case: CaseSnapshot | None = None) -> OrderSnapshot:
        """The order as the case's ``order_info`` describes it (its lines, what was paid, in fen). The order
        APIs (``/order/orderDetail``) need another permission; the shop's own order sync completes it."""
        case = the_case(order_id, case)
        order = case.raw.get("order_info") or {}
        items = order.get("related_order_info") or []
        info = case.raw.get("aftersale_info") or {}
        paid_at = from_unix(order.get("create_time")) or from_unix(info.get("create_time")) or case.modified_at
        lines = tuple(
            OrderLineSnapshot(
                sku=str(item.get("shop_sku_code") or item.get("product_id") or f"oid-{item.get('order_id', '')}"),
                name=str(item.get("product_name", "")),
                quantity=int(item.get("item_num") or 1),
                unit_fen=int(item.get("price") or 0)
                or int(item.get("pay_amount") or 0) // max(1, int(item.get("item_num") or 1)),
                paid_fen=int(item.get("pay_amount") or 0),
            )
            for item in items
        )
        if not lines:  # the case alone: one line for what is asked back
            lines = case_lines(case)
        return OrderSnapshot(
            order_id=order_id,
            buyer_id=case.buyer_id or case.buyer_nick or "douyin-buyer",
            buyer_nick=case.buyer_nick,
            paid_at=paid_at,
            lines=lines,
        )

    def refresh_access_token(self) -> TokenGrant:
        """``/token/refresh`` (``grant_type=refresh_token``): a new access token and refresh token. Not in
        PLATFORMS.md's sources (unconfirmed, docs/platforms.md): called the way the SDKs call ``token.refresh``."""
        if not self.connection.refresh_token:
            raise PlatformError(ErrorKind.PERMANENT, "no_refresh_token", "the connection has no refresh token")
        data = self.call(
            "/token/refresh",
            {"grant_type": "refresh_token", "refresh_token": self.connection.refresh_token},
            token=False,
        )
        if not data.get("access_token"):
            raise PlatformError(ErrorKind.TRANSIENT, "unexpected_answer", "no access_token in the answer")
        expires_in = data.get("expires_in")
        return TokenGrant(
            access_token=str(data["access_token"]),
            expires_at=timezone.now() + timedelta(seconds=int(expires_in)) if expires_in else None,
            refresh_token=str(data.get("refresh_token") or self.connection.refresh_token),
        )

    def cursor_at(self, moment: datetime) -> str:
        seconds = int(moment.timestamp())
        return f"{seconds}|{seconds}|0"

    # -- pushes ----------------------------------------------------------------------------------------
    @classmethod
    def push_shop_id(cls, headers: Mapping[str, str], body: bytes) -> str:
        items = push_items(body)
        return str(push_data(items[0]).get("shop_id", "")) if items else ""

    def verify_push(self, headers: Mapping[str, str], body: bytes) -> list[PushMessage]:
        """The messages of one push, after checking ``event-sign`` = md5(app_key + body + app_secret)."""
        given = next((value for key, value in headers.items() if key.lower() == PUSH_SIGNATURE), "")
        expected = push_signature(self.connection.app_key, self.connection.app_secret, body)
        if not given or not hmac.compare_digest(given.lower(), expected):
            raise BadSignature("signature does not match")
        messages = []
        for item in push_items(body):
            data = push_data(item)
            tag = str(item.get("tag", ""))
            messages.append(
                PushMessage(
                    message_id=str(item["msg_id"]),
                    topic=f"doudian_refund_{TAGS.get(tag, tag)}",
                    case_id=str(data.get("aftersale_id", "")),
                    modified_at=from_unix(data.get("update_time")),
                    raw={"tag": tag, "msg_id": str(item["msg_id"]), "data": data},
                )
            )
        return messages

    @classmethod
    def push_answer(cls) -> tuple[int, bytes, str]:
        return 200, b'{"code":0,"msg":"success"}', "application/json"

    # -- writing ---------------------------------------------------------------------------------------
    @staticmethod
    def command_extra(raw: Mapping[str, Any]) -> dict[str, Any]:
        """The case's Douyin type and status when the decision was taken (they pick the operate type)."""
        info = raw.get("aftersale_info") or {}
        return {
            "aftersale_type": code_text(info, "after_sale_type", "aftersale_type"),
            "aftersale_status": code_text(info, "after_sale_status", "aftersale_status"),
        }

    def operate(self, operate_type: int, command: Command, **fields: Any) -> CommandResult:
        """``/afterSale/operate`` for this one case (one item per call: the call is all-or-nothing)."""
        item: dict[str, Any] = {"aftersale_id": command.case_id, "update_time": command.version}
        if command.reason:
            item["reason"] = command.reason[:200]
        item.update({key: value for key, value in fields.items() if value not in (None, "", [], {})})
        data = self.call("/afterSale/operate", {"type": operate_type, "items": [item]})
        for result in data.get("items") or []:
            if str(result.get("status_code", "0")) != "0":
                raise PlatformError(
                    ErrorKind.PERMANENT, str(result.get("status_code")), str(result.get("status_msg") or "refused")
                )
        return CommandResult(raw=data)

    def _address(self, command: Command) -> int:
        address = command.address_id or self.connection.return_address_id
        if not address:
            raise PlatformError(
                ErrorKind.PERMANENT,
                "no_address",
                "The shop connection has no return address id (receiver_address_id from /address/list).",
            )
        try:
            return int(address)
        except ValueError as exc:
            raise PlatformError(ErrorKind.PERMANENT, "no_address", f"bad receiver_address_id {address!r}") from exc

    def agree_refund(self, command: Command) -> CommandResult:
        kind = command.extra.get("aftersale_type", "")
        if kind in REFUND_ONLY_TYPES:
            return self.operate(201, command)
        raise unconfirmed("agreeing the refund after the goods came back (退货退款, status 11)")

    def agree_return(self, command: Command) -> CommandResult:
        kind = command.extra.get("aftersale_type", "")
        address = self._address(command)
        if kind == "3":
            return self.operate(301, command, logistics={"receiver_address_id": address})
        if kind == "0":
            return self.operate(101, command, logistics={"receiver_address_id": address})
        raise unconfirmed(f"agreeing a return of aftersale_type {kind or '?'}")

    def refuse(self, command: Command) -> CommandResult:
        kind = command.extra.get("aftersale_type", "")
        if kind not in REFUND_ONLY_TYPES:
            raise unconfirmed(f"refusing an after-sales case of aftersale_type {kind or '?'} (only 仅退款: 202)")
        code = command.extra.get("reject_reason_code") or settings.KEFU_DOUYIN_REJECT_REASON_CODE
        if not code:
            raise PlatformError(
                ErrorKind.PERMANENT,
                "no_reject_reason_code",
                "No reject_reason_code: set KEFU_DOUYIN_REJECT_REASON_CODE (from /afterSale/rejectReasonCodeList).",
            )
        evidence = [{"type": 1, "url": url} for url in command.evidence]
        return self.operate(202, command, reject_reason_code=int(code), remark=command.reason[:200], evidence=evidence)

    def ship_exchange(self, command: Command) -> CommandResult:
        if not command.waybill:
            raise PlatformError(ErrorKind.PERMANENT, "no_waybill", "An exchange shipment needs the seller's waybill.")
        return self.operate(
            311, command, logistics={"company_code": command.carrier, "logistics_code": command.waybill}
        )

    def ship_resend(self, command: Command) -> CommandResult:
        raise unconfirmed("shipping a 补寄 (resend)")

    def upload_evidence(self, command: Command) -> CommandResult:
        raise unconfirmed("uploading evidence on its own")
