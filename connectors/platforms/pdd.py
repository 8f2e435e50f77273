"""Pinduoduo (PDD) open platform: signed form posts to the router, after-sales cases (售后单) read and answered.

Reference: ``PLATFORMS.md`` §2 (differentname123/Shop-Fusion ``get_sign.py``; lywzx/pdd-node-sdk; Cherrs/pdd-rs
``src/requests/pdd_refund_*.rs``, ``src/pmc.rs``). What kefu uses:

- Signing: every parameter except ``sign`` (``type``, ``client_id``, ``access_token``, ``timestamp`` in Unix
  seconds, ``data_type=JSON`` and the business ones), keys sorted, ``key1value1key2…``;
  ``upper(hex(MD5(client_secret + s + client_secret)))`` (:func:`sign`). Object parameters (``request``) go as
  compact JSON strings and are signed as such.
- Reading: ``pdd.refund.list.increment.get`` (the pull: ``after_sales_status`` and ``after_sales_type`` are required
  filters, 1 = all; ``start_updated_at``/``end_updated_at`` in Unix seconds, at most 30 minutes apart; ``page`` from
  1, ``page_size`` ≤ 100, ``total_count`` says when to stop), ``pdd.refund.information.get`` (one case:
  ``after_sales_id`` **and** ``order_sn``; ``expire_time`` = the merchant's deadline).
- Writing: ``pdd.refund.agree``, ``pdd.refund.returngoods.agree`` (``request`` = {after_sales_id, order_sn,
  operate_desc[, return_address_id]} → ``response.result`` {succ, message}); ``pdd.refund.address.list.get`` gives
  the default return address when the connection names none; ``pdd.refund.exchange.shipping`` (the replacement's
  waybill; ``shipping_id`` from ``pdd.logistics.companies.get``; both from pdd-rs, not PLATFORMS.md).
  **No refuse API is known**: a refusal is a
  permanent error telling the staff to refuse in PDD's back office.
- Tokens: ``pdd.pop.auth.token.refresh`` (``refresh_token``; not in PLATFORMS.md: bububa/openpdd and PDD's
  Java SDK ``PddPopAuthTokenRefreshResponse``) before the access token expires.
- Errors: ``error_response`` {error_code, error_msg, sub_code, sub_msg}: 70031 → rate limited; 50000 (system error,
  unconfirmed) → transient; everything else → permanent (the platform's message goes to the staff).

Two code sets: ``after_sales_type`` is 2 仅退款, 3 退货退款, 4 换货, 5 缺货补寄, 6 维修 in the list (1 = all, a filter)
and 1 仅退款, 2 退货退款, 3 换货, 4 补寄, 5 维修 in the detail. ``raw_type`` always holds the detail's code (a list
code is converted at the edge; one the connector does not know is kept as ``list:<code>``). Money: the list's
amounts are yuan strings (documented 元), the detail's and the push's integers in fen.

The case id kefu keeps is ``<after_sales_id>:<order_sn>``: PDD's detail and write APIs need both, and every path
(push, pull, reconciliation, write-back) then has them without a lookup.

PDD has no version counter on a case; ``updated_time`` has whole seconds. A snapshot's ``version`` is the
status's place in a case's life (:data:`STATUS_RANK`), so two changes within one second (an automatic refund right
after an agreement) still order.

Push: PMC is a WebSocket (``wss://message-api.pinduoduo.com/message/{client_id}/{timestamp_ms}/{sign}``) that
kefu's web processes do not hold. :func:`pmc_receive` is the whole message handling as a pure function (frame →
:class:`PushMessage` + the ``Ack`` frame to send back), used by :meth:`PddConnector.verify_push` for frames a
bridge posts over HTTP (``connectors.platforms.bridge``) and by any bridge that holds the WebSocket.

The codes, units and signature are in ``connectors.platforms.pdd_codes``, PMC in ``connectors.platforms.pdd_pmc``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from connectors.base import (
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
from connectors.commands import ErrorKind, PlatformError
from connectors.platforms import router
from connectors.platforms.bridge import push_verify
from connectors.platforms.orders import case_lines, the_case
from connectors.platforms.pdd_codes import (
    ALL,
    DEFAULT_BASE_URL,
    DETAIL_KEY,
    DETAIL_TYPES,
    EVIDENCE_TURN,
    LIST_TYPE_TO_DETAIL,
    MAX_BODY,
    MAX_WINDOW_SECONDS,
    MERCHANT_TURN,
    PAGE_SIZE,
    STATUS_RANK,
    STATUSES,
    case_key,
    error_from,
    fen_amount,
    parse_time,
    sign,
    split_case_key,
)
from connectors.platforms.pdd_pmc import bridge_frames, pmc_receive
from connectors.platforms.pdd_writes import PddWrites

logger = logging.getLogger(__name__)


class PddConnector(PddWrites, Connector):
    platform = Platform.PDD

    @property
    def url(self) -> str:
        return self.connection.base_url or DEFAULT_BASE_URL

    def call(self, api: str, *, response_key: str | None, with_token: bool = True, **business: Any) -> dict[str, Any]:
        """POST one signed call; the ``response_key`` object (the whole body when None), or :class:`PlatformError`.
        ``with_token=False``: without the shop's access token (the token refresh itself)."""
        params = {
            "type": api,
            "client_id": self.connection.app_key,
            "timestamp": str(int(timezone.now().timestamp())),
            "data_type": "JSON",
            **{key: _param(value) for key, value in business.items() if value is not None},
        }
        if with_token:
            params["access_token"] = self.connection.access_token
        return router.router_call(
            self.url,
            params,
            sign=lambda signed: sign(signed, self.connection.app_secret),
            error_from=error_from,
            response_key=response_key,
            max_body=MAX_BODY,
        )

    # -- reading ---------------------------------------------------------------------------------------
    def detail_snapshot(self, detail: Mapping[str, Any]) -> CaseSnapshot:
        """A ``pdd.refund.information.get`` answer in neutral terms (detail type codes, amounts in fen)."""
        raw_type = str(detail.get("after_sales_type", ""))
        raw_status = str(detail.get("after_sales_status", ""))
        waybill = str(detail.get("express_no") or "")
        status, rank_key = STATUSES.get(raw_status, CaseStatus.UNKNOWN), raw_status
        if raw_status == "3" and waybill:
            status, rank_key = CaseStatus.RETURN_IN_TRANSIT, "3/shipped"
        intervened = str(detail.get("join_or_not", "0")) == "1"
        arbitration = intervened or raw_status == "8"
        if intervened and status not in (CaseStatus.CLOSED, CaseStatus.REFUNDED, CaseStatus.UNKNOWN):
            status = CaseStatus.ARBITRATION
        deadline = parse_time(detail.get("expire_time")) if raw_status in MERCHANT_TURN | EVIDENCE_TURN else None
        sku = str(detail.get("sku_id") or "")
        return CaseSnapshot(
            platform=Platform.PDD,
            shop_external_id=str(detail.get("mall_id") or self.connection.external_id),
            case_id=case_key(detail["id"], detail["order_sn"]),
            order_id=str(detail["order_sn"]),
            kind=DETAIL_TYPES.get(raw_type, CaseKind.UNKNOWN),
            status=status,
            raw_type=raw_type,
            raw_status=raw_status if not intervened else f"{raw_status}/join_or_not=1",
            modified_at=parse_time(detail.get("updated_time")) or timezone.now(),
            version=STATUS_RANK.get(rank_key, 0),
            refund_fen=fen_amount(detail.get("refund_amount")),
            paid_fen=fen_amount(detail.get("order_amount")),
            reason=str(detail.get("after_sales_reason") or ""),
            merchant_deadline=deadline,
            lines=(CaseLine(sku=sku, quantity=int(detail.get("goods_number") or 1), external_id=sku),),
            return_carrier=str(detail.get("shipping_name") or ""),
            return_waybill=waybill,
            arbitration=arbitration,
            raw={**detail, "_from": "pdd.refund.information.get"},
        )

    def list_snapshot(self, row: Mapping[str, Any]) -> CaseSnapshot:
        """A ``pdd.refund.list.increment.get`` row in neutral terms (list type codes, amounts in yuan).

        Used only for rows outside the merchant's turn: those are re-read with their detail (:meth:`pull`)."""
        list_type = str(row.get("after_sales_type", ""))
        detail_type = LIST_TYPE_TO_DETAIL.get(list_type)
        raw_status = str(row.get("after_sales_status", ""))
        sku = str(row.get("sku_id") or "")
        return CaseSnapshot(
            platform=Platform.PDD,
            shop_external_id=self.connection.external_id,
            case_id=case_key(row["id"], row["order_sn"]),
            order_id=str(row["order_sn"]),
            kind=DETAIL_TYPES.get(detail_type or "", CaseKind.UNKNOWN),
            status=STATUSES.get(raw_status, CaseStatus.UNKNOWN),
            raw_type=detail_type or f"list:{list_type}",
            raw_status=raw_status,
            modified_at=parse_time(row.get("updated_time")) or timezone.now(),
            version=STATUS_RANK.get(raw_status, 0),
            refund_fen=yuan_to_fen(row.get("refund_amount")),
            paid_fen=yuan_to_fen(row.get("order_amount")),
            reason=str(row.get("after_sale_reason") or ""),
            lines=(
                CaseLine(
                    sku=sku,
                    quantity=int(row.get("goods_number") or 1),
                    name=str(row.get("goods_name") or ""),
                    external_id=sku,
                ),
            ),
            return_carrier=str(row.get("shipping_name") or ""),
            arbitration=raw_status == "8",
            raw={**row, "_from": "pdd.refund.list.increment.get"},
        )

    def pull(self, cursor: str, *, until: datetime | None = None) -> Page:
        """One page of ``pdd.refund.list.increment.get`` over an updated window.

        The cursor is ``<start>|<end>|<page>`` (Unix seconds). A window is at most 30 minutes wide (PDD's limit;
        narrower if ``KEFU_CONNECTOR_PULL_WINDOW_SECONDS`` says so) and ends at ``until`` (default: now); after its
        last page (``page * page_size >= total_count``) the next window starts
        ``KEFU_CONNECTOR_PULL_OVERLAP_SECONDS`` before its end. A row the merchant must answer (or a return whose
        goods may be on the way, status 3) is re-read with ``pdd.refund.information.get``: only the detail has
        the merchant's deadline and the return waybill.
        """
        now = int((until or timezone.now()).timestamp())
        width = int(min(settings.KEFU_CONNECTOR_PULL_WINDOW_SECONDS, MAX_WINDOW_SECONDS))
        if cursor:
            start, end, page = (int(part) for part in cursor.split("|"))
        else:
            start, end, page = now - width, now, 1
        if page == 1:  # a new window: as wide as allowed, up to now
            end = min(now, start + width)
        answer = self.call(
            "pdd.refund.list.increment.get",
            response_key="refund_increment_get_response",
            after_sales_status=ALL,
            after_sales_type=ALL,
            start_updated_at=start,
            end_updated_at=end,
            page=page,
            page_size=PAGE_SIZE,
        )
        rows = answer.get("refund_list") or []
        snapshots = [snapshot for row in rows if (snapshot := self._row(row)) is not None]
        if page * PAGE_SIZE < int(answer.get("total_count") or 0):
            return Page(snapshots, f"{start}|{end}|{page + 1}", has_more=True)
        overlap = int(settings.KEFU_CONNECTOR_PULL_OVERLAP_SECONDS)
        next_start = max(start, end - overlap) if end < now else max(start, now - overlap)
        return Page(snapshots, f"{next_start}|{now}|1", has_more=end < now)

    def _row(self, row: Mapping[str, Any]) -> CaseSnapshot | None:
        """One list row as a snapshot, never blocking the pull on one case: its detail when the merchant must
        act (a permanent failure of that read falls back to the row); a row that cannot be read becomes an
        ``unknown`` case (stored raw and flagged); a row without an id or order number is logged and skipped."""
        if not row.get("id") or not row.get("order_sn"):
            logger.error("pdd list row without id/order_sn skipped: %s", json.dumps(row, ensure_ascii=False)[:300])
            return None
        key = case_key(row["id"], row["order_sn"])
        if str(row.get("after_sales_status", "")) in MERCHANT_TURN | EVIDENCE_TURN:
            try:
                return self.fetch(key)
            except PlatformError as exc:
                if exc.retryable:
                    raise
                logger.warning("pdd case %s: detail not read (%s), taken from the list", key, exc)
        try:
            return self.list_snapshot(row)
        except (KeyError, TypeError, ValueError) as exc:
            logger.warning("pdd case %s: list row not readable (%r), kept raw", key, exc)
            return CaseSnapshot(
                platform=Platform.PDD,
                shop_external_id=self.connection.external_id,
                case_id=key,
                order_id=str(row["order_sn"]),
                kind=CaseKind.UNKNOWN,
                status=CaseStatus.UNKNOWN,
                raw_type="unreadable",
                raw_status=str(row.get("after_sales_status", "")),
                modified_at=timezone.now(),
                raw={**row, "_from": "pdd.refund.list.increment.get", "_error": repr(exc)},
            )

    def fetch(self, case_id: str) -> CaseSnapshot:
        after_sales_id, order_sn = split_case_key(case_id)
        body = self.call(
            "pdd.refund.information.get", response_key=None, after_sales_id=after_sales_id, order_sn=order_sn
        )
        detail = body.get(DETAIL_KEY, body)
        if not isinstance(detail, dict) or "id" not in detail or "order_sn" not in detail:
            raise PlatformError(ErrorKind.TRANSIENT, "unexpected_answer", json.dumps(body)[:200])
        return _readable(self.detail_snapshot, detail)

    def fetch_order(self, order_id: str, case: CaseSnapshot | None = None) -> OrderSnapshot:
        """The order as far as the case describes it (its line, what was paid). PDD's order APIs
        (``pdd.order.information.get``) need another permission; the shop's order sync completes the order."""
        case = the_case(order_id, case)
        paid_at = parse_time(case.raw.get("created_time") or case.raw.get("confirm_time")) or case.modified_at
        lines = case_lines(case)
        return OrderSnapshot(order_id=order_id, buyer_id="", buyer_nick="", paid_at=paid_at, lines=lines)

    def refresh_access_token(self) -> TokenGrant:
        """``pdd.pop.auth.token.refresh`` through the router (signed, without the expiring token):
        ``pop_auth_token_refresh_response`` {access_token, expires_at (Unix seconds), expires_in, refresh_token}."""
        if not self.connection.refresh_token:
            raise PlatformError(ErrorKind.PERMANENT, "no_refresh_token", "the connection has no refresh token")
        answer = self.call(
            "pdd.pop.auth.token.refresh",
            response_key="pop_auth_token_refresh_response",
            with_token=False,
            refresh_token=self.connection.refresh_token,
        )
        if not answer.get("access_token"):
            raise PlatformError(ErrorKind.PERMANENT, "no_access_token", json.dumps(answer)[:200])
        expires_at = parse_time(answer.get("expires_at"))
        if expires_at is None and answer.get("expires_in"):
            expires_at = timezone.now() + timedelta(seconds=int(answer["expires_in"]))
        return TokenGrant(
            access_token=str(answer["access_token"]),
            expires_at=expires_at,
            refresh_token=str(answer.get("refresh_token") or self.connection.refresh_token),
        )

    def cursor_at(self, moment: datetime) -> str:
        stamp = int(moment.timestamp())
        return f"{stamp}|{stamp}|1"

    # -- pushes ----------------------------------------------------------------------------------------
    @classmethod
    def push_shop_id(cls, headers: Mapping[str, str], body: bytes) -> str:
        message = bridge_frames(body)[0].get("message") or {}
        return str(message.get("mallID", "")) if isinstance(message, dict) else ""

    def verify_push(self, headers: Mapping[str, str], body: bytes) -> list[PushMessage]:
        """PMC ``Common`` frames posted by a bridge (one frame or a list), after checking the bridge's signature.

        The bridge sends each frame's ``Ack`` (:func:`pmc_receive`) once kefu answered 200. Frames of other
        message types are accepted and dropped; a frame that cannot be read, or of another mall than the first
        one's, fails the whole request (answered 403, nothing stored)."""
        push_verify(headers, body, self.connection.app_secret)
        messages: list[PushMessage] = []
        for frame in bridge_frames(body):
            # One PMC connection carries every authorised mall: a request is one mall's (the connection's).
            if str((frame.get("message") or {}).get("mallID", "")) != self.connection.external_id:
                raise ValueError("frames of another mall in the same request")
            outcome = pmc_receive(frame, now_ms=0)
            if outcome.error:
                raise ValueError(outcome.error)
            messages.extend(outcome.messages)
        return messages


def _readable(read: Callable[[Mapping[str, Any]], CaseSnapshot], payload: Mapping[str, Any]) -> CaseSnapshot:
    """``read(payload)``, or a permanent error naming the case when a field cannot be read (never a crash)."""
    try:
        return read(payload)
    except (KeyError, TypeError, ValueError) as exc:
        case = f"{payload.get('id', '?')}:{payload.get('order_sn', '?')}"
        raise PlatformError(ErrorKind.PERMANENT, "unreadable_case", f"{case}: {exc!r}") from exc


def _param(value: Any) -> str:
    """A business parameter as sent and signed: objects as compact JSON strings, the rest as text."""
    if isinstance(value, Mapping | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)
