"""Taobao / Tmall's codes, units and formats: the refund statuses kefu maps, 小二's ``cs_status``, TOP's request
signature and the HTTP push's, times, and ``error_response`` codes (docs/platforms.md, "Taobao / Tmall";
PLATFORMS.md §1)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from connectors.base import CaseStatus
from connectors.commands import ErrorKind, PlatformError
from connectors.platforms.router import md5_sign, signed_text

BEIJING = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DEFAULT_BASE_URL = "https://eco.taobao.com/router/rest"
# OAuth 2 token endpoint (grant_type=refresh_token). Not in PLATFORMS.md's sources: unconfirmed, see docs/platforms.md.
DEFAULT_TOKEN_URL = "https://oauth.taobao.com/token"  # noqa: S105 - a URL, not a secret
PAGE_SIZE = 100  # the most taobao.refunds.receive.get returns a page
MAX_BODY = 4 * 1024 * 1024  # a page of 100 refunds with their fields
REFUND_FIELDS = (
    "refund_id,tid,oid,status,refund_fee,total_fee,payment,created,modified,has_good_return,good_status,"
    "refund_phase,refund_version,sid,company_name,reason,desc,cs_status,buyer_nick,buyer_open_uid,seller_nick,"
    "title,num,outer_id,sku,refund_remind_timeout,operation_contraint"
)
INVALID_SESSION = "invalid-session"  # error code 27 (sub_code ``invalid-sessionkey``): refresh, then retry once
PUSH_SIGNATURE = "X-Kefu-Signature"
PUSH_TIMESTAMP = "X-Kefu-Timestamp"
PUSH_MAX_AGE_SECONDS = 300

STATUSES: dict[str, CaseStatus] = {
    "WAIT_SELLER_AGREE": CaseStatus.REQUESTED,
    "WAIT_BUYER_RETURN_GOODS": CaseStatus.AWAITING_RETURN,
    "WAIT_SELLER_CONFIRM_GOODS": CaseStatus.RETURN_IN_TRANSIT,
    "SELLER_REFUSE_BUYER": CaseStatus.REJECTED,
    "CLOSED": CaseStatus.CLOSED,
    "SUCCESS": CaseStatus.REFUNDED,
}
# cs_status (小二介入): 2 needed, 3 intervened, 4–6 review stages, 10 举证中, 11 appeal.
ARBITRATION_CS_STATUS = {"2", "3", "4", "5", "6", "10", "11"}
EVIDENCE_CS_STATUS = "10"  # 举证中: 小二 waits for the merchant's evidence until refund_remind_timeout
# The merchant must answer in these statuses; refund_remind_timeout is then the merchant's deadline.
MERCHANT_TURN = {"WAIT_SELLER_AGREE", "WAIT_SELLER_CONFIRM_GOODS"}


def sign(params: Mapping[str, str], secret: str, method: str = "md5") -> str:
    """TOP's signature of ``params`` (everything but ``sign``) with the app secret."""
    if method == "hmac":
        return hmac.new(secret.encode(), signed_text(params).encode(), hashlib.md5).hexdigest().upper()
    if method == "md5":
        return md5_sign(params, secret)
    raise ValueError(f"unsupported sign_method {method!r}")


def push_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The HTTP push's signature: hex HMAC-SHA256 of ``timestamp + "." + body`` with the app secret."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.strptime(value, TIME_FORMAT).replace(tzinfo=BEIJING)


def format_time(value: datetime) -> str:
    return value.astimezone(BEIJING).strftime(TIME_FORMAT)


def error_from(response: Mapping[str, Any]) -> PlatformError:
    """The PlatformError an ``error_response`` stands for."""
    code = str(response.get("code", ""))
    sub_code = str(response.get("sub_code", "") or "")
    message = str(response.get("sub_msg") or response.get("msg") or "")
    shown = sub_code or code
    if code == "7":
        seconds = re.search(r"(\d+)\s*(?:more\s*)?seconds?", message)
        return PlatformError(
            ErrorKind.RATE_LIMITED, shown, message, retry_after=float(seconds.group(1)) if seconds else None
        )
    if code == "27":
        return PlatformError(ErrorKind.PERMANENT, INVALID_SESSION, message)
    if sub_code.startswith("isp.") or (code in {"15", "520"} and not sub_code.startswith("isv.")):
        return PlatformError(ErrorKind.TRANSIENT, shown, message)
    return PlatformError(ErrorKind.PERMANENT, shown, message)
