"""WeChat Channels shop's codes, units and formats: the after-sales types and statuses kefu maps, how far along
a status is, the API paths, ``errcode`` classes, the push signature and safe mode's decryption, times
(docs/platforms.md, "WeChat Channels shop"; PLATFORMS.md §3)."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from connectors.base import QUERY_STRING_HEADER, BadSignature, CaseKind, CaseStatus
from connectors.commands import ErrorKind, PlatformError

DEFAULT_BASE_URL = "https://api.weixin.qq.com"
LIST_PATH = "/channels/ec/aftersale/getaftersalelist"
DETAIL_PATH = "/channels/ec/aftersale/getaftersaleorder"
ACCEPT_PATH = "/channels/ec/aftersale/acceptapply"
REJECT_PATH = "/channels/ec/aftersale/rejectapply"
CERTIFICATE_PATH = "/channels/ec/aftersale/uploadrefundcertificate"
EXCHANGE_RESHIP_PATH = "/channels/ec/aftersale/acceptexchangereship"
TOKEN_PATH = "/cgi-bin/token"  # noqa: S105 - a path, not a secret
MAX_LIST_WINDOW = 24 * 3600  # end_create_time - begin_create_time may not exceed 24 h
MAX_BODY = 1024 * 1024
PUSH_MAX_AGE_SECONDS = 300  # kefu's own replay guard on the push timestamp (WeChat retries within seconds)
AFTERSALE_EVENT = "channels_ec_aftersale_update"
COMPLAINT_EVENT = "channels_ec_complaint_update"

RATE_LIMITED = {45009, 45011, 45033}  # api freq out of limit, minute quota, per-account quota
TRANSIENT = {-1}  # system busy
TOKEN_INVALID = {40001, 40014, 42001}  # invalid credential, invalid access_token, access_token expired

TYPES: dict[str, CaseKind] = {
    "REFUND": CaseKind.REFUND_ONLY,
    "RETURN": CaseKind.RETURN_REFUND,
    "EXCHANGE": CaseKind.EXCHANGE,  # the exchange value is unconfirmed (PLATFORMS.md)
}
STATUSES: dict[str, CaseStatus] = {
    "MERCHANT_PROCESSING": CaseStatus.REQUESTED,
    "MERCHANT_OVERDUE_REFUND": CaseStatus.REQUESTED,
    "USER_WAIT_RETURN": CaseStatus.AWAITING_RETURN,
    "MERCHANT_WAIT_RECEIPT": CaseStatus.RETURN_IN_TRANSIT,
    "PLATFORM_REFUNDING": CaseStatus.REFUNDED,
    "MERCHANT_REFUND_SUCCESS": CaseStatus.REFUNDED,
    "MERCHANT_RETURN_SUCCESS": CaseStatus.REFUNDED,
    "MERCHANT_REJECT_REFUND": CaseStatus.REJECTED,
    "MERCHANT_REJECT_RETURN": CaseStatus.REJECTED,
    "USER_CANCELD": CaseStatus.CLOSED,  # (sic)
    "RETURN_CLOSED": CaseStatus.CLOSED,
    "MERCHANT_FAIL": CaseStatus.CLOSED,
    "MERCHANT_REFUND_RETRY_FAIL": CaseStatus.CLOSED,
    "USER_WAIT_CONFIRM_UPDATE": CaseStatus.COUNTER_OFFER,
    "USER_WAIT_HANDLE_MERCHANT_AFTER_SALE": CaseStatus.COUNTER_OFFER,
    # PLATFORM_REFUND_FAIL, USER_WAIT_CONFIRM and anything else: unknown (kept raw, flagged).
}
REJECTED = {"MERCHANT_REJECT_REFUND", "MERCHANT_REJECT_RETURN"}
# WeChat times updates in whole seconds and has no version: two changes in one second are ordered by how far
# along the case is (the snapshot's ``version``: progress × 10, + 5 once a complaint is open), so the later of
# them is not dropped as a duplicate.
PROGRESS: dict[str, int] = {
    "MERCHANT_PROCESSING": 1,
    "USER_WAIT_CONFIRM_UPDATE": 2,
    "USER_WAIT_HANDLE_MERCHANT_AFTER_SALE": 2,
    "MERCHANT_REJECT_REFUND": 3,
    "MERCHANT_REJECT_RETURN": 3,
    "USER_WAIT_RETURN": 4,
    "MERCHANT_WAIT_RECEIPT": 5,
    "MERCHANT_OVERDUE_REFUND": 6,
    "PLATFORM_REFUNDING": 7,
    "USER_WAIT_CONFIRM": 7,
    "PLATFORM_REFUND_FAIL": 8,
    "MERCHANT_REFUND_RETRY_FAIL": 9,
    "MERCHANT_REFUND_SUCCESS": 9,
    "MERCHANT_RETURN_SUCCESS": 9,
    "RETURN_CLOSED": 9,
    "USER_CANCELD": 9,
    "MERCHANT_FAIL": 9,
}


def push_signature(*parts: str) -> str:
    """The WeChat push signature: hex SHA-1 of the parts sorted and joined (token, timestamp, nonce[, Encrypt])."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - WeChat's own scheme


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key of an EncodingAESKey (43 characters of base64 without its ``=``)."""
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:
        raise ValueError("EncodingAESKey must decode to 32 bytes")
    return key


def decrypt(encrypted: str, encoding_aes_key: str) -> tuple[bytes, str]:
    """Safe mode: AES-256-CBC (IV = key[:16], PKCS#7 to 32-byte blocks) of 16 random bytes + 4-byte length +
    message + appid. Returns (message, appid); ``ValueError`` when it does not decrypt."""
    key = aes_key(encoding_aes_key)
    data = base64.b64decode(encrypted)
    if not data or len(data) % 16:
        raise ValueError("bad ciphertext length")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= 32:
        raise ValueError("bad padding")
    plain = plain[:-pad]
    (length,) = struct.unpack(">I", plain[16:20])
    return plain[20 : 20 + length], plain[20 + length :].decode()


def push_query(headers: Mapping[str, str]) -> dict[str, str]:
    """The push's query string (``signature``, ``timestamp``, ``nonce``, …) as the push view hands it over."""
    raw = next((v for k, v in headers.items() if k.lower() == QUERY_STRING_HEADER.lower()), "")
    return dict(parse_qsl(raw, keep_blank_values=True))


def decrypted_push(encrypted: str, encoding_aes_key: str, app_id: str) -> dict[str, Any]:
    """A safe-mode push's message (``Encrypt``) decrypted with the deployment's EncodingAESKey; ``BadSignature``
    when there is no key, it does not decrypt, or it was encrypted for another app than ``app_id``."""
    if not encoding_aes_key:
        raise BadSignature("an encrypted push, and KEFU_WECHAT_PUSH_AES_KEY is not set")
    try:
        message, appid = decrypt(encrypted, encoding_aes_key)
    except (ValueError, struct.error) as exc:
        raise BadSignature("does not decrypt") from exc
    if appid != app_id:
        raise BadSignature("encrypted for another app")
    data: dict[str, Any] = json.loads(message)
    return data


def error_from(errcode: int, errmsg: str) -> PlatformError:
    """The PlatformError an ``errcode`` stands for (token errors are handled by the caller first)."""
    code = str(errcode)
    if errcode in RATE_LIMITED:
        return PlatformError(ErrorKind.RATE_LIMITED, code, errmsg)
    if errcode in TRANSIENT:
        return PlatformError(ErrorKind.TRANSIENT, code, errmsg)
    return PlatformError(ErrorKind.PERMANENT, code, errmsg)


def from_unix(value: Any) -> datetime | None:
    if value in (None, "", 0, "0"):
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


def offer_fen(order: Mapping[str, Any]) -> int | None:
    """The refund a pending counter-offer names (``merchant_update_detail.amount``; the field is unconfirmed)."""
    detail = order.get("merchant_update_detail")
    amount = detail.get("amount") if isinstance(detail, Mapping) else None
    return None if amount is None or amount == "" else int(amount)
