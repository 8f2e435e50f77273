"""Taobao / Tmall open platform (TOP): signed form posts to the router, refunds (售后) read and answered.

Reference: ``PLATFORMS.md`` §1 (bububa/opentaobao ``core/client.go``, ``model/tbrefund/*``). What kefu uses:

- Signing: every system and business parameter except ``sign``, keys sorted (byte order), ``key1value1key2…``;
  ``md5``: ``upper(hex(MD5(secret + s + secret)))``, ``hmac``: ``upper(hex(HMAC-MD5(secret, s)))`` (:func:`sign`).
- Reading: ``taobao.refunds.receive.get`` by modified window with ``use_has_next`` (the pull),
  ``taobao.refund.get`` (one case).
- Writing: ``taobao.rp.refunds.agree`` (``refund_infos`` = ``id|fen|version|phase``), ``taobao.rp.returngoods.agree``
  (``seller_address_id``), ``taobao.refund.refuse`` (``refuse_message``, 2–200 characters).
- Errors: ``error_response`` {code, msg, sub_code, sub_msg}: code 7 (call limited) → rate limited; ``isp.*``
  → transient; ``isv.*`` and everything else → permanent (the platform's message goes to the staff).
- Money comes as yuan strings (``"200.07"``) and goes back in fen; times are Beijing time without a zone.

TMC (Taobao's push) is a long-lived WebSocket held by kefu's TMC bridge (``connectors.bridges.tmc``,
``manage.py connectors_tmc``), which stores its messages in the inbox itself. A bridge run elsewhere (聚石塔) may
post them over HTTP instead (:meth:`TaobaoConnector.verify_push`): a message shaped like TMC's (``topic``, ``id``,
``content`` JSON string with ``refund_id``, ``modified``, …) signed with the connection's app secret. Lost pushes
are caught by the pull (every ``KEFU_CONNECTOR_PULL_INTERVAL_SECONDS``) and by reconciliation.
"""

from __future__ import annotations

import hmac
import json
import time
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
    OrderSnapshot,
    Page,
    Platform,
    PushMessage,
    TokenGrant,
    yuan_to_fen,
)
from connectors.commands import Command, CommandResult, ErrorKind, PlatformError
from connectors.platforms import router
from connectors.platforms.orders import case_lines, the_case
from connectors.platforms.taobao_codes import (
    ARBITRATION_CS_STATUS,
    DEFAULT_BASE_URL,
    DEFAULT_TOKEN_URL,
    EVIDENCE_CS_STATUS,
    INVALID_SESSION,
    MAX_BODY,
    MERCHANT_TURN,
    PAGE_SIZE,
    PUSH_MAX_AGE_SECONDS,
    PUSH_SIGNATURE,
    PUSH_TIMESTAMP,
    REFUND_FIELDS,
    STATUSES,
    error_from,
    format_time,
    parse_time,
    push_signature,
    sign,
)
from connectors.platforms.taobao_exchange import FIELDS as EXCHANGE_FIELDS
from connectors.platforms.taobao_exchange import PREFIX as EXCHANGE_PREFIX
from connectors.platforms.taobao_exchange import dispute_id, exchange_page, exchange_snapshot, is_exchange
from connectors.platforms.taobao_flows import TaobaoFlows
from connectors.tokens import token_renew
from kefu.core import outbound


class TaobaoConnector(TaobaoFlows, Connector):
    platform = Platform.TAOBAO
    sign_method = "md5"

    # -- the call --------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.connection.base_url or DEFAULT_BASE_URL

    def call(self, method: str, *, files: router.Files | None = None, **business: Any) -> dict[str, Any]:
        """POST one signed call; the ``<method>_response`` object, or :class:`PlatformError`. ``files`` (name →
        (file name, bytes, content type)) go as multipart parts, outside the signature (as TOP's SDKs sign).

        An invalid session (code 27: the token expired early or was revoked) refreshes the access token with the
        connection's refresh token and sends the call once more; without a refresh token it is permanent."""
        try:
            return self._call(method, files, **business)
        except PlatformError as exc:
            if exc.code != INVALID_SESSION or not self.connection.refresh_token:
                raise
        token_renew(self)
        return self._call(method, files, **business)

    def _call(self, method: str, files: router.Files | None, **business: Any) -> dict[str, Any]:
        params = {
            "method": method,
            "app_key": self.connection.app_key,
            "session": self.connection.access_token,
            "timestamp": format_time(timezone.now()),
            "v": "2.0",
            "format": "json",
            "sign_method": self.sign_method,
            **{key: str(value) for key, value in business.items() if value is not None},
        }
        return router.router_call(
            self.url,
            params,
            sign=lambda signed: sign(signed, self.connection.app_secret, self.sign_method),
            error_from=error_from,
            response_key=method.removeprefix("taobao.").replace(".", "_") + "_response",
            max_body=MAX_BODY,
            files=files,
        )

    # -- reading ---------------------------------------------------------------------------------------
    def snapshot(self, refund: Mapping[str, Any]) -> CaseSnapshot:
        """A ``Refund`` object (``taobao.refund.get`` / ``receive.get``) in neutral terms."""
        raw_status = str(refund.get("status", ""))
        status = STATUSES.get(raw_status, CaseStatus.UNKNOWN)
        cs_status = str(refund.get("cs_status", "1") or "1")
        arbitration = cs_status in ARBITRATION_CS_STATUS
        if arbitration and status not in (CaseStatus.CLOSED, CaseStatus.REFUNDED):
            status = CaseStatus.ARBITRATION
        good_return = refund.get("has_good_return")
        if good_return in (True, "true"):
            kind, raw_type = CaseKind.RETURN_REFUND, "return_bill"
        elif good_return in (False, "false"):
            kind, raw_type = CaseKind.REFUND_ONLY, "refund_bill"
        else:
            kind, raw_type = CaseKind.UNKNOWN, str(refund.get("bill_type", ""))
        deadline = None
        remind = refund.get("refund_remind_timeout") or {}
        # The merchant's turn: its answer, or (cs_status 10, 举证中) its evidence for 小二.
        merchant_turn = raw_status in MERCHANT_TURN or cs_status == EVIDENCE_CS_STATUS
        if merchant_turn and remind.get("exist_timeout") in (True, "true"):
            deadline = parse_time(remind.get("timeout"))
        modified = parse_time(refund.get("modified")) or parse_time(refund.get("created")) or timezone.now()
        sku = str(refund.get("outer_id") or refund.get("sku") or refund.get("num_iid") or "")
        return CaseSnapshot(
            platform=Platform.TAOBAO,
            shop_external_id=str(refund.get("seller_nick", "")),
            case_id=str(refund["refund_id"]),
            order_id=str(refund.get("tid", "")),
            kind=kind,
            status=status,
            raw_type=raw_type,
            raw_status=raw_status if cs_status == "1" else f"{raw_status}/cs_status={cs_status}",
            modified_at=modified,
            version=int(refund.get("refund_version") or 0),
            refund_fen=yuan_to_fen(refund.get("refund_fee")),
            paid_fen=yuan_to_fen(refund.get("payment") or refund.get("total_fee")),
            reason=str(refund.get("reason", "")),
            merchant_deadline=deadline,
            lines=(
                CaseLine(
                    sku=sku,
                    quantity=int(refund.get("num") or 1),
                    name=str(refund.get("title", "")),
                    external_id=str(refund.get("oid", "")),
                ),
            ),
            buyer_id=str(refund.get("buyer_open_uid") or refund.get("buyer_nick") or ""),
            buyer_nick=str(refund.get("buyer_nick", "")),
            return_carrier=str(refund.get("company_name", "") or ""),
            return_waybill=str(refund.get("sid", "") or ""),
            arbitration=arbitration,
            shows_offers=False,  # TOP's refund has no 协商 status: it stays WAIT_SELLER_AGREE meanwhile
            raw=dict(refund),
        )

    def pull(self, cursor: str, *, until: datetime | None = None) -> Page:
        """One page of ``taobao.refunds.receive.get`` over a modified window.

        The cursor is ``<window start>|<window end>|<page>`` (Beijing times). A window is at most
        ``KEFU_CONNECTOR_PULL_WINDOW_SECONDS`` wide and ends at ``until`` (default: now); once its last page is
        read, the next window starts ``KEFU_CONNECTOR_PULL_OVERLAP_SECONDS`` before its end (late writes on the
        platform; ingestion ignores what it has seen).
        """
        now = (until or timezone.now()).replace(microsecond=0)  # TOP's times have whole seconds
        width = timedelta(seconds=settings.KEFU_CONNECTOR_PULL_WINDOW_SECONDS)
        if cursor.startswith("x|"):  # the window's Tmall exchanges, after its refunds
            return exchange_page(self.call, cursor, now=now, parse_time=parse_time, format_time=format_time)
        if cursor:
            start_text, end_text, page_text = cursor.split("|")
            start, end, page = parse_time(start_text) or now - width, parse_time(end_text) or now, int(page_text)
        else:
            start, end, page = now - width, now, 1
        if page == 1:  # a new window: as wide as allowed, up to now
            end = min(now, start + width)
        answer = self.call(
            "taobao.refunds.receive.get",
            fields=REFUND_FIELDS,
            start_modified=format_time(start),
            end_modified=format_time(end),
            page_no=page,
            page_size=PAGE_SIZE,
            use_has_next="true",
        )
        refunds = (answer.get("refunds") or {}).get("refund") or []
        snapshots = [self.snapshot(refund) for refund in refunds]
        if answer.get("has_next") in (True, "true"):
            return Page(snapshots, f"{format_time(start)}|{format_time(end)}|{page + 1}", has_more=True)
        return Page(snapshots, f"x|{format_time(start)}|{format_time(end)}|1", has_more=True)  # its exchanges

    def fetch(self, case_id: str) -> CaseSnapshot:
        if is_exchange(case_id):
            result = self.call("tmall.exchange.get", dispute_id=dispute_id(case_id), fields=EXCHANGE_FIELDS)
            found = result.get("result") or {}
            return exchange_snapshot(found.get("exchange") or found, parse_time=parse_time, now=timezone.now)
        answer = self.call("taobao.refund.get", refund_id=case_id, fields=REFUND_FIELDS)
        return self.snapshot(answer["refund"])

    def fetch_order(self, order_id: str, case: CaseSnapshot | None = None) -> OrderSnapshot:
        """The order, as far as the refund describes it (its line, what was paid). TOP's trade APIs
        (``taobao.trade.fullinfo.get``) need another permission; kefu opens the ticket from the case's own fields
        and the shop's next order sync completes the order."""
        case = the_case(order_id, case)
        created = parse_time(case.raw.get("created")) or case.modified_at
        lines = case_lines(case)
        return OrderSnapshot(
            order_id=order_id,
            buyer_id=case.buyer_id or case.buyer_nick,
            buyer_nick=case.buyer_nick,
            paid_at=created,
            lines=lines,
        )

    @property
    def token_url(self) -> str:
        """The OAuth endpoint: beside the router when the connection names another base URL (a simulator)."""
        if not self.connection.base_url:
            return DEFAULT_TOKEN_URL
        return self.connection.base_url.rsplit("/router/rest", 1)[0].rstrip("/") + "/token"

    def refresh_access_token(self) -> TokenGrant:
        if not self.connection.refresh_token:
            raise PlatformError(ErrorKind.PERMANENT, "no_refresh_token", "the connection has no refresh token")
        params = {
            "grant_type": "refresh_token",
            "client_id": self.connection.app_key,
            "client_secret": self.connection.app_secret,
            "refresh_token": self.connection.refresh_token,
        }
        try:
            response = outbound.post(
                self.token_url,
                data=urlencode(params).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
            )
        except outbound.OutboundError as exc:
            raise PlatformError(ErrorKind.TRANSIENT, "network", str(exc)) from exc
        try:
            body = response.json()
        except ValueError as exc:
            raise PlatformError(ErrorKind.TRANSIENT, f"http_{response.status}", response.excerpt()) from exc
        if not response.ok or "access_token" not in body:
            kind = ErrorKind.TRANSIENT if response.status >= 500 else ErrorKind.PERMANENT
            raise PlatformError(kind, str(body.get("error", response.status)), str(body.get("error_description", "")))
        expires_in = body.get("expires_in")
        return TokenGrant(
            access_token=str(body["access_token"]),
            expires_at=timezone.now() + timedelta(seconds=int(expires_in)) if expires_in else None,
            refresh_token=str(body.get("refresh_token") or self.connection.refresh_token),
        )

    def cursor_at(self, moment: datetime) -> str:
        return f"{format_time(moment)}|{format_time(moment)}|1"

    # -- pushes ----------------------------------------------------------------------------------------
    @classmethod
    def push_shop_id(cls, headers: Mapping[str, str], body: bytes) -> str:
        data = json.loads(body)
        first = data[0] if isinstance(data, list) and data else data
        return str(first.get("user_nick", "")) if isinstance(first, dict) else ""

    def verify_push(self, headers: Mapping[str, str], body: bytes) -> list[PushMessage]:
        """Messages of one HTTP push (one TMC-shaped message or a list), after checking its signature and age."""
        timestamp = headers.get(PUSH_TIMESTAMP, "")
        given = headers.get(PUSH_SIGNATURE, "")
        expected = push_signature(self.connection.app_secret, timestamp, body)
        if not given or not hmac.compare_digest(given, expected):
            raise BadSignature("signature does not match")
        try:
            age = abs(time.time() - float(timestamp))
        except ValueError as exc:
            raise BadSignature("bad timestamp") from exc
        if age > PUSH_MAX_AGE_SECONDS:
            raise BadSignature("timestamp too old")
        data = json.loads(body)
        items = data if isinstance(data, list) else [data]
        messages = []
        for item in items:
            content = item.get("content") or {}
            if isinstance(content, str):
                content = json.loads(content)
            messages.append(
                PushMessage(
                    message_id=str(item["id"]),
                    topic=str(item.get("topic", "")),
                    case_id=(EXCHANGE_PREFIX if content.get("bill_type") == "replace_bill" else "")
                    + str(content.get("refund_id", "")),
                    modified_at=parse_time(content.get("modified")),
                    raw=item,
                )
            )
        return messages

    # -- writing ---------------------------------------------------------------------------------------
    @staticmethod
    def command_extra(raw: Mapping[str, Any]) -> dict[str, Any]:
        """What a write needs from the case besides the neutral command: TOP's ``refund_phase``."""
        return {"refund_phase": raw.get("refund_phase", ""), "has_good_return": raw.get("has_good_return")}

    def agree_refund(self, command: Command) -> CommandResult:
        phase = command.extra.get("refund_phase", "")
        info = f"{command.case_id}|{command.amount_fen or 0}|{command.version}|{phase}"
        answer = self.call("taobao.rp.refunds.agree", refund_infos=info)
        results = (answer.get("results") or {}).get("refund_mapping_result") or []
        failed = [r for r in results if r.get("succ") in (False, "false")]
        if failed or answer.get("succ") in (False, "false"):
            message = (failed[0].get("message") if failed else None) or answer.get("msg") or "refused"
            raise PlatformError(ErrorKind.PERMANENT, "refund_refused", str(message))
        return CommandResult(message=str(answer.get("msg", "")), raw=answer)

    def agree_return(self, command: Command) -> CommandResult:
        if is_exchange(command.case_id):
            return self.exchange_agree(command)
        address = command.address_id or self.connection.return_address_id
        if not address:
            raise PlatformError(
                ErrorKind.PERMANENT, "no_address", "The shop connection has no return address id (seller_address_id)."
            )
        answer = self.call(
            "taobao.rp.returngoods.agree",
            refund_id=command.case_id,
            seller_address_id=address,
            refund_version=command.version,
            refund_phase=command.extra.get("refund_phase") or None,
            remark=command.reason[:200] or None,
        )
        if answer.get("is_success") in (False, "false"):
            raise PlatformError(ErrorKind.PERMANENT, "return_refused", str(answer.get("msg") or "refused"))
        return CommandResult(raw=answer)

    def refuse(self, command: Command) -> CommandResult:
        if is_exchange(command.case_id):
            return self.exchange_refuse(command)
        message = (command.reason or "").strip()[:200]
        answer = self.call(
            "taobao.refund.refuse",
            refund_id=command.case_id,
            refuse_message=message,
            refund_version=command.version,
            refund_phase=command.extra.get("refund_phase") or None,
        )
        if answer.get("is_success") in (False, "false"):
            raise PlatformError(ErrorKind.PERMANENT, "refuse_refused", str(answer.get("msg") or "refused"))
        return CommandResult(raw=answer)
