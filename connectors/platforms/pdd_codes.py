"""Pinduoduo's codes, units and formats: the tables kefu maps PDD's after-sales types and statuses with, the
request signature, times, amounts, case ids and errors (docs/platforms.md, "Pinduoduo"; PLATFORMS.md §2)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from connectors.base import CaseKind, CaseStatus, yuan_to_fen
from connectors.commands import ErrorKind, PlatformError
from connectors.platforms.router import md5_sign

BEIJING = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DEFAULT_BASE_URL = "https://gw-api.pinduoduo.com/api/router"
MAX_WINDOW_SECONDS = 30 * 60  # pdd.refund.list.increment.get: start and end at most 30 minutes apart
PAGE_SIZE = 100
MAX_BODY = 4 * 1024 * 1024
ALL = 1  # after_sales_status / after_sales_type filter value meaning "all"
RATE_LIMITED = "70031"
TRANSIENT_CODES = {"50000"}  # unconfirmed: PDD's "system error"; docs/platforms.md
DETAIL_KEY = "refund_information_get_response"  # tolerated wrapper; the SDKs read the detail's fields at the top

# after_sales_type in the detail (pdd.refund.information.get); 5 维修 (repair) has no kefu kind.
DETAIL_TYPES: dict[str, CaseKind] = {
    "1": CaseKind.REFUND_ONLY,
    "2": CaseKind.RETURN_REFUND,
    "3": CaseKind.EXCHANGE,
    "4": CaseKind.RESEND,
}
# after_sales_type in the list (pdd.refund.list.increment.get) → the detail's code. 1 (all) is a filter only.
LIST_TYPE_TO_DETAIL = {"2": "1", "3": "2", "4": "3", "5": "4", "6": "5"}

# after_sales_status (the same codes in the list, the detail and the push). 3 becomes return_in_transit once the
# buyer's return waybill (express_no) is known; 8 and join_or_not=1 mean the platform intervenes.
STATUSES: dict[str, CaseStatus] = {
    "2": CaseStatus.REQUESTED,  # 买家申请退款，待商家处理
    "3": CaseStatus.REQUESTED,  # 退货退款，待商家处理
    "4": CaseStatus.REFUNDED,  # 商家同意退款，退款中
    "5": CaseStatus.REFUNDED,  # 平台同意退款，退款中
    "6": CaseStatus.REJECTED,  # 驳回退款，待买家处理
    "7": CaseStatus.AWAITING_RETURN,  # 已同意退货退款，待用户发货
    "8": CaseStatus.ARBITRATION,  # 平台处理中
    "9": CaseStatus.CLOSED,  # 平台拒绝退款，退款关闭
    "10": CaseStatus.REFUNDED,  # 退款成功
    "11": CaseStatus.CLOSED,  # 买家撤销
    "12": CaseStatus.CLOSED,  # 买家逾期未处理，退款失败
    "13": CaseStatus.CLOSED,  # 买家逾期，超过有效期
    "14": CaseStatus.REQUESTED,  # 换货补寄待商家处理
    "15": CaseStatus.AWAITING_RETURN,  # 换货补寄待用户处理
    "16": CaseStatus.COMPLETED,  # 换货补寄成功
    "17": CaseStatus.CLOSED,  # 换货补寄失败
    "18": CaseStatus.REPLACEMENT_SHIPPED,  # 换货补寄待用户确认完成 (the merchant shipped)
    "21": CaseStatus.REQUESTED,  # 待商家同意维修
    "22": CaseStatus.AWAITING_RETURN,  # 待用户确认发货
    "24": CaseStatus.CLOSED,  # 维修关闭
    "25": CaseStatus.CLOSED,  # 维修成功
    "27": CaseStatus.RECEIVED,  # 待用户确认收货
    "31": CaseStatus.AWAITING_RETURN,  # 已同意拒收退款，待用户拒收
    "32": CaseStatus.REQUESTED,  # 补寄待商家发货
    "33": CaseStatus.REQUESTED,  # 待商家召回
}
# The merchant must act in these statuses; the detail's expire_time is then the merchant's deadline.
MERCHANT_TURN = {"2", "3", "14", "21", "32", "33"}
# 平台处理中: expire_time, when the detail gives one, is the platform's deadline for the merchant's evidence
# (unconfirmed: read the same way as the merchant's answer).
EVIDENCE_TURN = {"8"}
# A status's place in a case's life: the version that orders two snapshots with the same updated_time.
STATUS_RANK: dict[str, int] = {
    **dict.fromkeys(("2", "3", "14", "21", "32", "33"), 1),
    **dict.fromkeys(("6", "7", "15", "22", "31"), 2),
    "3/shipped": 3,
    **dict.fromkeys(("18", "27"), 4),
    "8": 5,
    **dict.fromkeys(("4", "5"), 6),
    **dict.fromkeys(("9", "10", "11", "12", "13", "16", "17", "24", "25"), 7),
}


def sign(params: Mapping[str, str], secret: str) -> str:
    """PDD's signature of ``params`` (everything but ``sign``) with the client secret."""
    return md5_sign(params, secret)


def case_key(after_sales_id: Any, order_sn: Any) -> str:
    return f"{after_sales_id}:{order_sn}"


def split_case_key(case_id: str) -> tuple[str, str]:
    """``"<after_sales_id>:<order_sn>"`` → both; a permanent error when the order is missing."""
    after_sales_id, _, order_sn = case_id.partition(":")
    if not after_sales_id or not order_sn:
        raise PlatformError(ErrorKind.PERMANENT, "bad_case_id", f"{case_id!r} is not <after_sales_id>:<order_sn>")
    return after_sales_id, order_sn


def parse_time(value: Any) -> datetime | None:
    """``"2026-12-06 10:00:00"`` (Beijing) or Unix seconds / milliseconds (as numbers or digit strings)."""
    if value is None or value == "":
        return None
    text = str(value)
    if text.isdigit():
        number = int(text)
        return datetime.fromtimestamp(number / 1000 if number > 10**11 else number, tz=UTC)
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=BEIJING)


def error_from(response: Mapping[str, Any]) -> PlatformError:
    """The PlatformError an ``error_response`` stands for."""
    code = str(response.get("error_code", ""))
    message = str(response.get("sub_msg") or response.get("error_msg") or "")
    if code == RATE_LIMITED:
        return PlatformError(ErrorKind.RATE_LIMITED, code, message)
    if code in TRANSIENT_CODES:
        return PlatformError(ErrorKind.TRANSIENT, code, message)
    return PlatformError(ErrorKind.PERMANENT, code, message)


def fen_amount(value: Any) -> int:
    """An amount the detail or the push gives in fen (an integer). A decimal string can only be yuan: read so."""
    if value is None or value == "":
        return 0
    if isinstance(value, str) and "." in value:
        return yuan_to_fen(value)
    return int(value)
