"""A local Aliyun SMS (dysmsapi ``SendSms``) for the tests: a real HTTP server that checks requests as Aliyun
does and answers in Aliyun's shapes.

It verifies the RPC signature (HMAC-SHA1 over the canonical query, computed here independently of kefu's
adapter, with the percent-encoding recipe of Aliyun's documentation), the timestamp (15 minutes), nonce
re-use, the access key, the signature name, the template and its variables, the phone number; it limits each
number to ``per_minute`` messages a minute (``isv.BUSINESS_LIMIT_CONTROL``), and can be made slow
(``delay``) so a client's deadline passes. Accepted messages are in ``sent``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.simulators.base import SimulatorHandler, running

COMMON = ("AccessKeyId", "Action", "Format", "SignatureMethod", "SignatureNonce", "SignatureVersion", "Timestamp")
PHONE = re.compile(r"^1[3-9]\d{9}$")


def pop_encode(value: str) -> str:
    """Aliyun's documented recipe: URL-encode (form style), then + → %20, * → %2A, %7E → ~."""
    return urllib.parse.quote_plus(value, safe="").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")


def expected_signature(method: str, params: dict[str, str], secret: str) -> tuple[str, str]:
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    canonical = "&".join(f"{pop_encode(k)}={pop_encode(v)}" for k, v in pairs)
    to_sign = f"{method}&{pop_encode('/')}&{pop_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode(), to_sign


@dataclass
class AliyunSmsSimulator:
    keys: dict[str, str] = field(default_factory=lambda: {"LTAI5tSimulatorKey": "SimulatorSecret0123456789abcdef"})
    sign_names: set[str] = field(default_factory=lambda: {"客服中心"})
    templates: dict[str, set[str]] = field(default_factory=lambda: {"SMS_460935001": {"content"}})
    per_minute: int = 1
    delay: float = 0.0
    sent: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # the Code of every refusal, in order
    url: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._nonces: set[str] = set()
        self._by_phone: dict[str, list[float]] = {}

    def forget_rate_limits(self) -> None:
        """As if a minute had passed for every number."""
        with self._lock:
            self._by_phone.clear()

    def handle(self, method: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Aliyun's answer (HTTP status, JSON) to one request."""
        request_id = str(uuid.uuid4()).upper()

        def error(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
            with self._lock:
                self.refused.append(code)
            body: dict[str, Any] = {"RequestId": request_id, "Message": message, "Code": code}
            if status != 200:
                body |= {"HostId": "dysmsapi.aliyuncs.com", "Recommend": "https://api.aliyun.com/troubleshoot"}
            return status, body

        for name in (*COMMON, "Signature"):
            if not params.get(name):
                return error(400, f"Missing{name}", f"{name} is mandatory for this action.")
        if params["SignatureMethod"] != "HMAC-SHA1" or params["SignatureVersion"] != "1.0":
            return error(400, "InvalidSignatureMethod.Malformed", "Specified signature method is not valid.")
        secret = self.keys.get(params["AccessKeyId"])
        if secret is None:
            return error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        try:
            signed_at = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return error(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
        if abs((datetime.now(UTC) - signed_at).total_seconds()) > 15 * 60:
            return error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        signature, to_sign = expected_signature(method, params, secret)
        if not hmac.compare_digest(signature, params["Signature"]):
            return error(
                400,
                "SignatureDoesNotMatch",
                f"Specified signature is not matched with our calculation. server string to sign is:{to_sign}",
            )
        with self._lock:
            if params["SignatureNonce"] in self._nonces:
                return error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            self._nonces.add(params["SignatureNonce"])
        if params["Action"] != "SendSms":
            return error(400, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
        if params.get("SignName") not in self.sign_names:
            return error(200, "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        variables = self.templates.get(params.get("TemplateCode", ""))
        if variables is None:
            return error(200, "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        try:
            values = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            return error(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if not isinstance(values, dict) or not variables <= values.keys():
            return error(200, "isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量")
        phone = params.get("PhoneNumbers", "")
        if not PHONE.match(phone):
            return error(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._by_phone.get(phone, []) if now - t < 60]
            if len(recent) >= self.per_minute:
                self.refused.append("isv.BUSINESS_LIMIT_CONTROL")
                return 200, {
                    "RequestId": request_id,
                    "Message": f"触发分钟级流控Permits:{self.per_minute}",
                    "Code": "isv.BUSINESS_LIMIT_CONTROL",
                }
            self._by_phone[phone] = [*recent, now]
            biz_id = f"{len(self.sent) + 900619746936498440}^0"
            self.sent.append(
                {
                    "phone": phone,
                    "sign_name": params["SignName"],
                    "template": params["TemplateCode"],
                    "params": values,
                    "out_id": params.get("OutId", ""),
                    "biz_id": biz_id,
                }
            )
        return 200, {"Message": "OK", "RequestId": request_id, "Code": "OK", "BizId": biz_id}


class AliyunSmsHandler(SimulatorHandler):
    simulator: AliyunSmsSimulator

    def answer(self, method: str, raw_query: str) -> None:
        params = dict(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
        if self.simulator.delay:
            time.sleep(self.simulator.delay)
        self.reply(*self.simulator.handle(method, params))

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.answer("POST", self.read_body().decode())

    def do_GET(self) -> None:  # noqa: N802
        self.answer("GET", urllib.parse.urlsplit(self.path).query)


@contextmanager
def aliyun_sms_running(**behaviour: Any) -> Iterator[AliyunSmsSimulator]:
    """The simulator on 127.0.0.1 in a thread; ``behaviour`` sets :class:`AliyunSmsSimulator` fields."""
    with running(AliyunSmsSimulator(**behaviour), AliyunSmsHandler, path="/") as simulator:
        yield simulator
