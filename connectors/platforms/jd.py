"""JD (京东 JOS) after-sales service (ASC, 售后服务单): signed router calls, service orders read and answered.

Reference: ``PLATFORMS.md`` §5 ("brief": most of what JD answers is **unconfirmed**; docs/platforms.md lists it).
What kefu uses:

- Gateway ``https://api.jd.com/routerjson``, form POST. System parameters ``method``, ``app_key``,
  ``access_token``, ``timestamp`` (Beijing time), ``v=2.0``; the business parameters as one JSON string,
  ``360buy_param_json``. Signing (TOP-style, as public JOS clients compute it; unconfirmed by JD's own documents):
  every parameter but ``sign``, keys sorted, ``key1value1key2…`` between the app secret twice, MD5, upper hex.
- The answer is ``<method with "." → "_">_responce`` (JD's spelling) or ``error_response``
  {``code``, ``zh_desc``, ``en_desc``}.
- Reading: ``jingdong.asc.serviceAndRefund.view`` (the pull: service orders updated in a window, paged by
  ``pageNumber``/``pageSize``), ``jingdong.asc.apply.view`` (one service order). Common parameters ``buId`` (the
  shop's id on JD, the connection's shop id), ``operatePin``/``operateNick`` (who acts: ``kefu``), ``serviceId``,
  ``orderId``.
- Writing: ``jingdong.asc.receive.register`` (the goods are back), ``jingdong.asc.process.close`` (close the
  service order with a reason: kefu's refusal). JD's audit (agree) APIs are not known: agreeing is done in JD's
  back office, and kefu's agree commands fail permanently saying so. No exchange/resend/evidence API either.
- Statuses and kinds: mapped where the codes are known from JD's older after-sales service (``afsServiceStep``:
  10 applied, 20 refused, 21/22 in review, 31/32 awaiting the goods, 33/34 being processed, 60 cancelled); every
  other code (40, 50, anything new) is kept raw and flagged. ``customerExpect`` 10 = return, 20 = exchange;
  others (30 repair) unknown. No deadline field is known: JD tickets keep kefu's own clock.
- Errors: JD's codes for rate limits and outages are not known: an ``error_response`` whose description says
  the call frequency was exceeded (频率/限流/limit) is rate limited, one that says the system is busy or
  unavailable (繁忙/不可用/busy/unavailable) is transient, everything else permanent; a service order's own refusal
  (``success: false``, ``errorMsg``) is permanent. Network failures, timeouts and HTTP 5xx are transient.
- Pushes: JD's messages (JMQ) are not received over HTTP: kefu pulls every ``KEFU_CONNECTOR_PULL_INTERVAL_SECONDS``
  and reconciliation catches the rest (a push to ``/connectors/jd/push/`` is refused).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from connectors.base import (
    BadSignature,
    CaseKind,
    CaseLine,
    CaseSnapshot,
    CaseStatus,
    Connector,
    OrderSnapshot,
    Page,
    Platform,
    PushMessage,
    yuan_to_fen,
)
from connectors.commands import Command, CommandResult, ErrorKind, PlatformError
from connectors.platforms import router
from connectors.platforms.orders import case_lines, the_case

BEIJING = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DEFAULT_BASE_URL = "https://api.jd.com/routerjson"
PAGE_SIZE = 50
MAX_BODY = 4 * 1024 * 1024
OPERATOR = "kefu"  # operatePin / operateNick: who acts on JD's side (unconfirmed: may need the shop's own pin)

KINDS: dict[str, CaseKind] = {"10": CaseKind.RETURN_REFUND, "20": CaseKind.EXCHANGE}
STATUSES: dict[str, CaseStatus] = {
    "10": CaseStatus.REQUESTED,  # 申请阶段
    "21": CaseStatus.REQUESTED,  # 客服审核
    "22": CaseStatus.REQUESTED,  # 商家审核
    "20": CaseStatus.REJECTED,  # 审核不通过
    "31": CaseStatus.AWAITING_RETURN,  # 京东收货 (awaiting the goods; in transit once a waybill is known)
    "32": CaseStatus.AWAITING_RETURN,  # 商家收货
    "33": CaseStatus.RECEIVED,  # 京东处理
    "34": CaseStatus.RECEIVED,  # 商家处理
    "60": CaseStatus.CLOSED,  # 取消
    # 40 (用户确认), 50 (完成: refunded or not is not in the status), anything else: unknown.
}
RATE_WORDS = ("频率", "限流", "超限", "limit")
TRANSIENT_WORDS = ("繁忙", "不可用", "busy", "unavailable")


def sign(params: Mapping[str, str], secret: str) -> str:
    """JOS's signature of ``params`` (everything but ``sign``): MD5(secret + sorted key/values + secret)."""
    return router.md5_sign(params, secret)


def parse_time(value: Any) -> datetime | None:
    """JD times: ``"2026-12-06 10:00:00"`` (Beijing) or epoch milliseconds."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float) or str(value).isdigit():
        return datetime.fromtimestamp(int(value) / 1000, tz=BEIJING)
    return datetime.strptime(str(value), TIME_FORMAT).replace(tzinfo=BEIJING)


def format_time(value: datetime) -> str:
    return value.astimezone(BEIJING).strftime(TIME_FORMAT)


def error_from(response: Mapping[str, Any]) -> PlatformError:
    code = str(response.get("code", ""))
    message = str(response.get("zh_desc") or response.get("en_desc") or "")
    text = f"{message} {response.get('en_desc', '')}".lower()
    if any(word in text for word in RATE_WORDS):
        return PlatformError(ErrorKind.RATE_LIMITED, code, message)
    if any(word in text for word in TRANSIENT_WORDS):
        return PlatformError(ErrorKind.TRANSIENT, code, message)
    return PlatformError(ErrorKind.PERMANENT, code, message)


class JdConnector(Connector):
    platform = Platform.JD

    @property
    def url(self) -> str:
        return self.connection.base_url or DEFAULT_BASE_URL

    def call(self, method: str, **business: Any) -> dict[str, Any]:
        """POST one signed call; the ``<method>_responce`` object, or :class:`PlatformError`."""
        common = {"buId": self.connection.external_id, "operatePin": OPERATOR, "operateNick": OPERATOR}
        payload = {key: value for key, value in {**common, **business}.items() if value is not None}
        params = {
            "method": method,
            "app_key": self.connection.app_key,
            "access_token": self.connection.access_token,
            "timestamp": format_time(timezone.now()),
            "v": "2.0",
            "360buy_param_json": json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        }
        answer = router.router_call(
            self.url,
            params,
            sign=lambda signed: sign(signed, self.connection.app_secret),
            error_from=error_from,
            response_key=method.replace(".", "_") + "_responce",
            max_body=MAX_BODY,
        )
        result = answer.get("result") if isinstance(answer.get("result"), dict) else answer.get("pageResult")
        if isinstance(result, dict) and result.get("success") in (False, "false"):
            raise PlatformError(
                ErrorKind.PERMANENT, str(result.get("errorCode") or "refused"), str(result.get("errorMsg") or "")
            )
        return answer

    # -- reading ---------------------------------------------------------------------------------------
    def snapshot(self, service: Mapping[str, Any]) -> CaseSnapshot:
        raw_status = str(service.get("serviceStatus", ""))
        raw_type = str(service.get("customerExpect", ""))
        status = STATUSES.get(raw_status, CaseStatus.UNKNOWN)
        waybill = str(service.get("expressCode") or "")
        if status == CaseStatus.AWAITING_RETURN and waybill:
            status = CaseStatus.RETURN_IN_TRANSIT
        modified = parse_time(service.get("updateTime")) or parse_time(service.get("applyTime")) or timezone.now()
        return CaseSnapshot(
            platform=Platform.JD,
            shop_external_id=self.connection.external_id,
            case_id=str(service["serviceId"]),
            order_id=str(service.get("orderId", "")),
            kind=KINDS.get(raw_type, CaseKind.UNKNOWN),
            status=status,
            raw_type=raw_type,
            raw_status=raw_status,
            modified_at=modified,
            refund_fen=yuan_to_fen(service.get("refundAmount")),
            paid_fen=yuan_to_fen(service.get("orderAmount") or service.get("refundAmount")),
            reason=str(service.get("questionDesc") or service.get("questionTypeName") or ""),
            lines=(
                CaseLine(
                    sku=str(service.get("skuId", "")),
                    quantity=int(service.get("skuNum") or 1),
                    name=str(service.get("skuName", "")),
                    external_id=str(service.get("skuId", "")),
                ),
            ),
            buyer_id=str(service.get("customerPin", "")),
            buyer_nick=str(service.get("customerName", "")),
            return_carrier=str(service.get("expressCompany") or ""),
            return_waybill=waybill,
            raw=dict(service),
        )

    def pull(self, cursor: str, *, until: datetime | None = None) -> Page:
        """One page of ``jingdong.asc.serviceAndRefund.view`` over an update window (cursor
        ``<start>|<end>|<page>``, Beijing times; windows and overlap as the other platforms)."""
        now = (until or timezone.now()).replace(microsecond=0)
        width = timedelta(seconds=settings.KEFU_CONNECTOR_PULL_WINDOW_SECONDS)
        if cursor:
            start_text, end_text, page_text = cursor.split("|")
            start, end, page = parse_time(start_text) or now - width, parse_time(end_text) or now, int(page_text)
        else:
            start, end, page = now - width, now, 1
        if page == 1:
            end = min(now, start + width)
        answer = self.call(
            "jingdong.asc.serviceAndRefund.view",
            updateTimeBegin=format_time(start),
            updateTimeEnd=format_time(end),
            pageNumber=page,
            pageSize=PAGE_SIZE,
        )
        result = answer.get("pageResult") or {}
        rows = result.get("data") or []
        snapshots = [self.snapshot(row) for row in rows]
        if page * PAGE_SIZE < int(result.get("totalCount") or 0):
            return Page(snapshots, f"{format_time(start)}|{format_time(end)}|{page + 1}", has_more=True)
        overlap = timedelta(seconds=settings.KEFU_CONNECTOR_PULL_OVERLAP_SECONDS)
        next_start = max(start, end - overlap) if end < now else max(start, now - overlap)
        return Page(snapshots, f"{format_time(next_start)}|{format_time(now)}|1", has_more=end < now)

    def fetch(self, case_id: str) -> CaseSnapshot:
        answer = self.call("jingdong.asc.apply.view", serviceId=int(case_id) if case_id.isdigit() else case_id)
        return self.snapshot((answer.get("result") or {}).get("data") or {})

    def fetch_order(self, order_id: str, case: CaseSnapshot | None = None) -> OrderSnapshot:
        """The order as far as the service order describes it; JD's order APIs are not used yet."""
        case = the_case(order_id, case)
        lines = case_lines(case)
        paid_at = parse_time(case.raw.get("applyTime")) or case.modified_at
        return OrderSnapshot(
            order_id=order_id, buyer_id=case.buyer_id, buyer_nick=case.buyer_nick, paid_at=paid_at, lines=lines
        )

    def cursor_at(self, moment: datetime) -> str:
        return f"{format_time(moment)}|{format_time(moment)}|1"

    # -- pushes ----------------------------------------------------------------------------------------
    @classmethod
    def push_shop_id(cls, headers: Mapping[str, str], body: bytes) -> str:
        return ""  # JD's messages are not received over HTTP: no connection is named (answered 404)

    def verify_push(self, headers: Mapping[str, str], body: bytes) -> list[PushMessage]:
        raise BadSignature("JD pushes are not received over HTTP; kefu pulls JD")

    # -- writing ---------------------------------------------------------------------------------------
    def _no_audit_api(self, what: str) -> PlatformError:
        return PlatformError(
            ErrorKind.PERMANENT,
            "unsupported",
            f"JD's after-sales audit API is not known to kefu: {what} the service order in JD's back office.",
        )

    def agree_refund(self, command: Command) -> CommandResult:
        raise self._no_audit_api("refund")

    def agree_return(self, command: Command) -> CommandResult:
        raise self._no_audit_api("approve")

    def refuse(self, command: Command) -> CommandResult:
        """``jingdong.asc.process.close``: the service order closed with the staff's reason."""
        reason = (command.reason or "").strip()[:200]
        answer = self.call(
            "jingdong.asc.process.close",
            serviceId=int(command.case_id) if command.case_id.isdigit() else command.case_id,
            orderId=command.extra.get("order_id") or None,
            approveNotes=reason or None,
        )
        return CommandResult(raw=answer)

    def confirm_received(self, command: Command) -> CommandResult:
        """``jingdong.asc.receive.register``: the goods are back at the shop."""
        answer = self.call(
            "jingdong.asc.receive.register",
            serviceId=int(command.case_id) if command.case_id.isdigit() else command.case_id,
            orderId=command.extra.get("order_id") or None,
        )
        return CommandResult(raw=answer)

    @staticmethod
    def command_extra(raw: Mapping[str, Any]) -> dict[str, Any]:
        """JD's writes name the order too (``orderId``)."""
        order_id = str(raw.get("orderId") or "")
        return {"order_id": int(order_id) if order_id.isdigit() else order_id}

    def ship_exchange(self, command: Command) -> CommandResult:
        raise PlatformError(ErrorKind.PERMANENT, "unsupported", "JD's exchange shipment API is not known to kefu.")

    def ship_resend(self, command: Command) -> CommandResult:
        raise PlatformError(ErrorKind.PERMANENT, "unsupported", "JD has no resend (补寄) API known to kefu.")

    def upload_evidence(self, command: Command) -> CommandResult:
        raise PlatformError(ErrorKind.PERMANENT, "unsupported", "JD's evidence upload API is not known to kefu.")
