"""Aliyun SMS (阿里云短信服务, dysmsapi ``SendSms``, API version 2017-05-25) through ``kefu.core.outbound``.

The request is Aliyun's RPC style, POSTed as a form: the common parameters (``AccessKeyId``, ``Action``,
``Format``, ``RegionId``, ``SignatureMethod=HMAC-SHA1``, ``SignatureNonce``, ``SignatureVersion=1.0``,
``Timestamp`` in UTC, ``Version``) and the message's (``PhoneNumbers``, ``SignName``, ``TemplateCode``,
``TemplateParam`` as JSON, ``OutId`` = the de-duplication key), signed with

    StringToSign = "POST&%2F&" + percent_encode(canonical query)
    Signature    = base64(HMAC-SHA1(access key secret + "&", StringToSign))

where the canonical query is the parameters sorted by name, each name and value percent-encoded (RFC 3986:
only ``A-Z a-z 0-9 - _ . ~`` stay as they are, a space is ``%20``) and joined as ``name=value`` with ``&``.

The answer is JSON: ``{"Code": "OK", "BizId": …}`` when accepted, else ``Code`` names the refusal. How each
refusal is treated (``classify``): a number or message Aliyun will never accept (``isv.MOBILE_NUMBER_ILLEGAL``
and the like) is a PermanentDeliveryError, dead-lettered at once; everything else (rate limits such as
``isv.BUSINESS_LIMIT_CONTROL``, throttling, Aliyun's own errors, and configuration errors such as
``SignatureDoesNotMatch`` or an unknown template, which an operator fixes for every message at once) is a
DeliveryError, retried with the relay's backoff and dead-lettered after ``KEFU_NOTIFY_MAX_ATTEMPTS``.

The approved template (``KEFU_SMS_ALIYUN_TEMPLATE_CODE``) must have one variable, named by
``KEFU_SMS_ALIYUN_TEMPLATE_PARAM`` (default ``content``), that receives the rendered message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
import uuid
from datetime import UTC, datetime

from django.conf import settings

from kefu.core import outbound
from kefu.core.outbound.masking import sanitize
from notifications.channels import DeliveryError, PermanentDeliveryError
from notifications.channels.sms import mask_phone

API_VERSION = "2017-05-25"
# Refusals about this number or this message: sending it again will never work.
PERMANENT_CODES = frozenset(
    {
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.MOBILE_COUNT_OVER_LIMIT",
        "isv.BLACK_KEY_CONTROL_LIMIT",
        "isv.PARAM_LENGTH_LIMIT",
        "isv.PARAM_NOT_SUPPORT_URL",
        "isv.INVALID_JSON_PARAM",
        "isv.TEMPLATE_PARAMS_ILLEGAL",
    }
)


def percent_encode(value: str) -> str:
    """Aliyun's POP encoding: RFC 3986 unreserved characters kept, everything else %XX of its UTF-8 bytes."""
    return urllib.parse.quote(value, safe="-_.~")


def string_to_sign(method: str, params: dict[str, str]) -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"


def sign(method: str, params: dict[str, str], secret: str) -> str:
    mac = hmac.new(f"{secret}&".encode(), string_to_sign(method, params).encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def classify(code: str, message: str, phone: str) -> DeliveryError:
    """The DeliveryError for Aliyun's refusal ``code`` (permanent for a number or message it never accepts)."""
    message = sanitize(message.replace(phone, mask_phone(phone)), 160)
    text = f"Aliyun SMS to {mask_phone(phone)}: {sanitize(code, 60)}: {message}"
    if code in PERMANENT_CODES:
        return PermanentDeliveryError(text)
    return DeliveryError(text)


class AliyunSmsProvider:
    """``send`` posts one SendSms request; returns when Aliyun answers ``Code: OK``, else raises."""

    def __init__(self) -> None:
        self.access_key_id: str = settings.KEFU_SMS_ALIYUN_ACCESS_KEY_ID
        self.access_key_secret: str = settings.KEFU_SMS_ALIYUN_ACCESS_KEY_SECRET
        self.sign_name: str = settings.KEFU_SMS_ALIYUN_SIGN_NAME
        self.template_code: str = settings.KEFU_SMS_ALIYUN_TEMPLATE_CODE
        self.template_param: str = settings.KEFU_SMS_ALIYUN_TEMPLATE_PARAM
        self.endpoint: str = settings.KEFU_SMS_ALIYUN_ENDPOINT
        self.region: str = settings.KEFU_SMS_ALIYUN_REGION

    def params(self, *, phone: str, text: str, dedup_key: str, now: datetime | None = None) -> dict[str, str]:
        """The signed form of one SendSms request."""
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "RegionId": self.region,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "Timestamp": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
            "PhoneNumbers": phone,
            "SignName": self.sign_name,
            "TemplateCode": self.template_code,
            "TemplateParam": json.dumps({self.template_param: text}, ensure_ascii=False),
            "OutId": dedup_key,
        }
        params["Signature"] = sign("POST", params, self.access_key_secret)
        return params

    def send(self, *, phone: str, text: str, dedup_key: str) -> None:
        if not (self.access_key_id and self.access_key_secret and self.sign_name and self.template_code):
            raise DeliveryError(
                "Aliyun SMS is not configured: set KEFU_SMS_ALIYUN_ACCESS_KEY_ID, KEFU_SMS_ALIYUN_ACCESS_KEY_SECRET, "
                "KEFU_SMS_ALIYUN_SIGN_NAME and KEFU_SMS_ALIYUN_TEMPLATE_CODE."
            )
        form = "&".join(
            f"{percent_encode(k)}={percent_encode(v)}"
            for k, v in self.params(phone=phone, text=text, dedup_key=dedup_key).items()
        )
        try:
            response = outbound.post(
                self.endpoint,
                data=form.encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
            )
        except outbound.BlockedTarget as exc:
            raise PermanentDeliveryError(f"Aliyun SMS endpoint refused: {exc}") from exc
        except outbound.OutboundError as exc:
            raise DeliveryError(f"Aliyun SMS to {mask_phone(phone)}: {exc}") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or "Code" not in answer:
            raise DeliveryError(f"Aliyun SMS to {mask_phone(phone)}: HTTP {response.status}: {response.excerpt()}")
        if answer["Code"] != "OK":
            raise classify(str(answer["Code"]), str(answer.get("Message", "")), phone)
