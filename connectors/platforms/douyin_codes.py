"""Douyin shop's codes, units and formats: the after-sales types and statuses kefu maps, push tags, the
gateway's and the push's signatures, times and answer codes (docs/platforms.md, "Douyin shop"; PLATFORMS.md §4)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.base import CaseKind, CaseStatus
from connectors.commands import ErrorKind, PlatformError

DEFAULT_BASE_URL = "https://openapi-fxg.jinritemai.com"
API_VERSION = "2"
PAGE_SIZE = 100  # the most /afterSale/List returns a page
MAX_BODY = 4 * 1024 * 1024
PUSH_SIGNATURE = "event-sign"  # unconfirmed header name (PLATFORMS.md §4)
STATUS_CHANGED = "isv.business-failed:20309541"

# aftersale_type → kefu's kind. 6 价保 (price protection) and 8 维修 (repair) have no kefu kind: kept raw, flagged.
KINDS: dict[str, CaseKind] = {
    "0": CaseKind.RETURN_REFUND,  # 退货退款
    "1": CaseKind.REFUND_ONLY,  # 已发货仅退款
    "2": CaseKind.REFUND_ONLY,  # 未发货仅退款
    "3": CaseKind.EXCHANGE,  # 换货
    "7": CaseKind.RESEND,  # 补寄
}
# aftersale_status → neutral status (docs/platforms.md, "Douyin shop").
STATUSES: dict[str, CaseStatus] = {
    "6": CaseStatus.REQUESTED,  # 待商家同意
    "7": CaseStatus.AWAITING_RETURN,  # 待买家退货
    "11": CaseStatus.RETURN_IN_TRANSIT,  # 待商家二次同意 (the goods are on their way back / back)
    "8": CaseStatus.RECEIVED,  # 待商家发货 (exchange / 补寄: the merchant is to ship)
    "3": CaseStatus.REPLACEMENT_SHIPPED,  # exchange shipped, buyer to receive
    "13": CaseStatus.REPLACEMENT_SHIPPED,  # 换货/补寄/维修 shipped, buyer to receive
    "12": CaseStatus.REFUNDED,  # 售后成功
    "14": CaseStatus.COMPLETED,  # 换货/补寄/维修成功 (the buyer received it)
    "27": CaseStatus.REJECTED,  # 商家一次拒绝
    "29": CaseStatus.REJECTED,  # 商家二次拒绝
    "28": CaseStatus.CLOSED,  # 售后失败
}
# The merchant must act in these statuses: status_deadline is then the merchant's deadline.
MERCHANT_TURN = {"6", "11", "8"}
REFUND_ONLY_TYPES = {"1", "2"}
# Push tags (topic prefix doudian_refund_). 206–208 are read differently by the sources: named by number.
TAGS = {
    "200": "RefundCreated",
    "201": "RefundAgreed",
    "202": "ReturnApplyAgreed",
    "203": "BuyerReturnGoods",
    "204": "RefundRefused",
    "205": "ReturnApplyRefused",
}


def param_json(params: Mapping[str, Any]) -> str:
    """Compact JSON, keys sorted at every depth (what is signed and what is sent must be this exact string)."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sign(
    *, app_key: str, app_secret: str, method: str, params_json: str, timestamp: str, sign_method: str = "md5"
) -> str:
    """The gateway's signature (lowercase hex)."""
    signed = f"app_key{app_key}method{method}param_json{params_json}timestamp{timestamp}v{API_VERSION}"
    pattern = f"{app_secret}{signed}{app_secret}"
    if sign_method == "md5":
        return hashlib.md5(pattern.encode()).hexdigest()  # noqa: S324 - the platform's own scheme
    if sign_method == "hmac-sha256":
        return hmac.new(app_secret.encode(), pattern.encode(), hashlib.sha256).hexdigest()
    raise ValueError(f"unsupported sign_method {sign_method!r}")


def push_signature(app_key: str, app_secret: str, body: bytes) -> str:
    """A push's signature: hex MD5 of app key + the raw body + app secret."""
    return hashlib.md5(app_key.encode() + body + app_secret.encode()).hexdigest()  # noqa: S324 - the platform's


def push_items(body: bytes) -> list[dict[str, Any]]:
    """The messages of a push body (a JSON array of objects, or one object)."""
    data = json.loads(body)
    items = data if isinstance(data, list) else [data]
    if not all(isinstance(item, dict) for item in items):
        raise ValueError("push items are not objects")
    return items


def push_data(item: Mapping[str, Any]) -> dict[str, Any]:
    """A push message's ``data`` (a JSON string in the message) as an object."""
    data = item.get("data") or {}
    if isinstance(data, str):
        data = json.loads(data)
    return data if isinstance(data, dict) else {}


def from_unix(value: Any) -> datetime | None:
    try:
        seconds = int(value or 0)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds > 0 else None


def error_from(body: Mapping[str, Any], http_status: int = 200) -> PlatformError:
    """The PlatformError a non-10000 answer stands for."""
    code = str(body.get("code", ""))
    sub_code = str(body.get("sub_code", "") or "")
    message = str(body.get("sub_msg") or body.get("msg") or "")
    shown = sub_code or code
    if http_status == 429 or "limit" in sub_code.lower():
        return PlatformError(ErrorKind.RATE_LIMITED, shown, message)
    if code == "20000" or sub_code.startswith("isp."):
        return PlatformError(ErrorKind.TRANSIENT, shown, message)
    if sub_code == STATUS_CHANGED:
        return PlatformError(ErrorKind.PERMANENT, shown, message or "售后单状态已变更，请刷新后重试")
    return PlatformError(ErrorKind.PERMANENT, shown, message)


def first_present(data: Mapping[str, Any], *keys: str) -> Any:
    """The first of ``keys`` present (the list says ``aftersale_*``, the detail ``after_sale_*``)."""
    for key in keys:
        if data.get(key) not in (None, ""):
            return data[key]
    return None


def code_text(data: Mapping[str, Any], *keys: str) -> str:
    """A code as text (``0`` is a code: 退货退款), ``""`` when absent."""
    value = first_present(data, *keys)
    return "" if value is None else str(value)


def unconfirmed(what: str) -> PlatformError:
    return PlatformError(
        ErrorKind.PERMANENT,
        "unconfirmed_api",
        f"Douyin: {what} has no confirmed /afterSale/operate type; act in the Douyin back office (抖店后台).",
    )
