"""Tmall exchanges (换货): read and answered through ``tmall.exchange.*``, beside the refunds.

A Tmall exchange is a dispute of its own (``dispute_id``), not a refund; kefu keeps it as the case
``exchange:<dispute_id>`` so every path (push, pull, reconciliation, write-back) knows which API it belongs to.
Names and fields from TOP's SDKs (bububa/opentaobao ``model/exchange``), not from PLATFORMS.md:

- reading: ``tmall.exchange.get`` (``dispute_id``, ``fields``) and ``tmall.exchange.receive.get`` (modified
  window ``start_gmt_modified_time``/``end_gmt_modifed_time`` (sic), ``page_no``, ``page_size``, ``fields``);
  pushes are the refund topics with ``bill_type=replace_bill`` (the content's ``refund_id`` read as the dispute);
- writing: ``tmall.exchange.agree`` (``address_id``: a ``contact_id`` of ``taobao.logistics.address.search``,
  ``leave_message``), ``tmall.exchange.refuse`` (``leave_message``), ``tmall.exchange.returngoods.agree`` (the
  goods back), ``tmall.exchange.consigngoods`` (the new parcel, in ``taobao_flows``).

Status (the SDK documents the codes with their words; which of the two the answer carries is unconfirmed, both
are read): 1 换货待处理, 2 待买家退货, 3 买家已退货，待收货, 4 换货关闭, 5 换货成功, 6 待买家修改, 12 待发出换货商品,
13 待买家收货, 14 请退款 (the exchange became a refund: kept raw and flagged).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from connectors.base import CaseKind, CaseLine, CaseSnapshot, CaseStatus, Page, Platform, yuan_to_fen

PREFIX = "exchange:"
PAGE_SIZE = 100
FIELDS = (
    "dispute_id,bizorder_id,num,buyer_nick,status,created,modified,reason,title,buyer_logistic_no,"
    "seller_logistic_no,bought_sku,exchange_sku,buyer_logistic_name,seller_logistic_name,seller_nick,"
    "refund_version,cs_status,time_out,payment,desc"
)
STATUSES: dict[str, CaseStatus] = {
    "1": CaseStatus.REQUESTED,
    "换货待处理": CaseStatus.REQUESTED,
    "2": CaseStatus.AWAITING_RETURN,
    "待买家退货": CaseStatus.AWAITING_RETURN,
    "3": CaseStatus.RETURN_IN_TRANSIT,
    "买家已退货，待收货": CaseStatus.RETURN_IN_TRANSIT,
    "4": CaseStatus.CLOSED,
    "换货关闭": CaseStatus.CLOSED,
    "5": CaseStatus.COMPLETED,
    "换货成功": CaseStatus.COMPLETED,
    "6": CaseStatus.REJECTED,
    "待买家修改": CaseStatus.REJECTED,
    "12": CaseStatus.RECEIVED,
    "待发出换货商品": CaseStatus.RECEIVED,
    "13": CaseStatus.REPLACEMENT_SHIPPED,
    "待买家收货": CaseStatus.REPLACEMENT_SHIPPED,
}
# The merchant acts in these: ``time_out`` is then the platform's deadline.
MERCHANT_TURN = {CaseStatus.REQUESTED, CaseStatus.RETURN_IN_TRANSIT, CaseStatus.RECEIVED}
ARBITRATION_CS_STATUS = {"2", "3", "4", "5", "6", "10", "11"}


def is_exchange(case_id: str) -> bool:
    return case_id.startswith(PREFIX)


def dispute_id(case_id: str) -> str:
    return case_id.removeprefix(PREFIX)


def exchange_snapshot(exchange: Mapping[str, Any], *, parse_time: Any, now: Any) -> CaseSnapshot:
    """A ``tmall.exchange.get`` / ``receive.get`` exchange in neutral terms (``parse_time`` reads TOP's times)."""
    raw_status = str(exchange.get("status", ""))
    status = STATUSES.get(raw_status, CaseStatus.UNKNOWN)
    cs_status = str(exchange.get("cs_status", "1") or "1")
    arbitration = cs_status in ARBITRATION_CS_STATUS
    if arbitration and status not in (CaseStatus.CLOSED, CaseStatus.COMPLETED, CaseStatus.UNKNOWN):
        status = CaseStatus.ARBITRATION
    deadline = parse_time(exchange.get("time_out")) if status in MERCHANT_TURN else None
    paid = yuan_to_fen(exchange.get("payment") or exchange.get("price"))
    return CaseSnapshot(
        platform=Platform.TAOBAO,
        shop_external_id=str(exchange.get("seller_nick", "")),
        case_id=PREFIX + str(exchange["dispute_id"]),
        order_id=str(exchange.get("bizorder_id") or exchange.get("biz_order_id") or ""),
        kind=CaseKind.EXCHANGE,
        status=status,
        raw_type="replace_bill",
        raw_status=raw_status if cs_status == "1" else f"{raw_status}/cs_status={cs_status}",
        modified_at=parse_time(exchange.get("modified")) or parse_time(exchange.get("created")) or now(),
        version=int(exchange.get("refund_version") or 0),
        paid_fen=paid,
        reason=str(exchange.get("reason", "")),
        merchant_deadline=deadline,
        lines=(
            CaseLine(
                sku=str(exchange.get("bought_sku") or ""),
                quantity=int(exchange.get("num") or 1),
                name=str(exchange.get("title", "")),
                external_id=str(exchange.get("bizorder_id") or ""),
            ),
        ),
        buyer_id=str(exchange.get("buyer_nick", "")),
        buyer_nick=str(exchange.get("buyer_nick", "")),
        return_carrier=str(exchange.get("buyer_logistic_name") or ""),
        return_waybill=str(exchange.get("buyer_logistic_no") or ""),
        reship_carrier=str(exchange.get("seller_logistic_name") or ""),
        reship_waybill=str(exchange.get("seller_logistic_no") or ""),
        arbitration=arbitration,
        shows_offers=False,
        raw={**exchange, "exchange_sku": exchange.get("exchange_sku", "")},
    )


def exchange_page(
    call: Callable[..., dict[str, Any]],
    cursor: str,
    *,
    now: datetime,
    parse_time: Callable[[Any], datetime | None],
    format_time: Callable[[datetime], str],
) -> Page:
    """One page of ``tmall.exchange.receive.get`` over the window whose refunds the pull just read (cursor
    ``x|<start>|<end>|<page>``); after its last page, the next window starts
    ``KEFU_CONNECTOR_PULL_OVERLAP_SECONDS`` before this one's end (as the refunds' pull does)."""
    _x, start_text, end_text, page_text = cursor.split("|")
    start, end, page = parse_time(start_text) or now, parse_time(end_text) or now, int(page_text)
    answer = call(
        "tmall.exchange.receive.get",
        fields=FIELDS,
        start_gmt_modified_time=format_time(start),
        end_gmt_modifed_time=format_time(end),  # sic: TOP's spelling
        page_no=page,
        page_size=PAGE_SIZE,
    )
    rows = answer.get("results") or []
    if isinstance(rows, Mapping):  # TOP's JSON wraps lists: {"exchange": [...]}
        rows = rows.get("exchange") or []
    snapshots = [exchange_snapshot(row, parse_time=parse_time, now=timezone.now) for row in rows]
    if answer.get("has_next") in (True, "true"):
        return Page(snapshots, f"x|{format_time(start)}|{format_time(end)}|{page + 1}", has_more=True)
    overlap = timedelta(seconds=settings.KEFU_CONNECTOR_PULL_OVERLAP_SECONDS)
    next_start = max(start, end - overlap) if end < now else max(start, now - overlap)
    return Page(snapshots, f"{format_time(next_start)}|{format_time(now)}|1", has_more=end < now)
