"""A local WeChat Channels shop (微信小店) API for the tests: a real HTTP server speaking WeChat's JSON calls.

It checks requests as WeChat does, independently of kefu's connector: the access token in the query string
(issued by ``GET /cgi-bin/token?grant_type=client_credential``, expiring; a stale one answers 42001, an unknown
one 40001); answers ``errcode``/``errmsg``; keeps after-sales cases in their statuses with ``update_time`` (Unix
seconds, the simulator's clock) and answers ``deadline`` as the seconds left on that clock; pages
``getaftersalelist`` by creation window (at most 24 h, else 47001) with ``next_key``/``has_more``; refuses writes
in the wrong status or without a known return ``address_id``; can answer 45009 (frequency limit), -1 (system
busy) or stall past the client's deadline; auto-agrees where the merchant's deadline passed on its own clock
(``advance``); and builds pushes of ``channels_ec_aftersale_update`` signed with the standard WeChat scheme
(``sha1(sorted [token, timestamp, nonce])``), in plain or safe mode (AES-256-CBC). Cases are seeded from the JSON
fixtures in ``fixtures/wechat/``.

Business error codes (wrong status, unknown case, bad address) are not public: the simulator uses its own
(``1000xx``), which kefu maps like any code it does not know: permanent, with ``errmsg`` shown to the staff.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import struct
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tests.simulators.base import SimulatedPlatform, SimulatorHandler, load_fixture, post, running

APP_ID = "wx0123456789abcdef"
APP_SECRET = "sim-wechat-secret-0123456789abcdef"  # noqa: S105 - a test value
SHOP_ID = "gh_0123456789ab"
PUSH_TOKEN = "sim-push-token"  # noqa: S105 - a test value
PUSH_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters: base64 of 32 bytes without "="
MERCHANT_TURN = {"MERCHANT_PROCESSING", "MERCHANT_WAIT_RECEIPT"}  # the statuses answered with a ``deadline``


def fixture(name: str) -> dict[str, Any]:
    return load_fixture("wechat", name)


def wechat_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()  # noqa: S324 - WeChat's scheme


def wechat_encrypt(message: bytes, encoding_aes_key: str, appid: str) -> str:
    """Safe mode: base64(AES-256-CBC(random 16 bytes + big-endian length + message + appid)), PKCS#7 to 32."""
    key = base64.b64decode(encoding_aes_key + "=")
    plain = os.urandom(16) + struct.pack(">I", len(message)) + message + appid.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


@dataclass
class WechatSimulator(SimulatedPlatform):
    app_id: str = APP_ID
    secret: str = APP_SECRET
    shop_id: str = SHOP_ID
    push_token: str = PUSH_TOKEN
    push_aes_key: str = PUSH_AES_KEY
    address_ids: set[str] = field(default_factory=lambda: {"20001"})
    page_size: int = 50
    token_lifetime: int = 7200
    rate_limit_next: int = 0  # answer this many calls with 45009
    busy_next: int = 0  # answer this many calls with -1
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)
    deadlines: dict[str, datetime] = field(default_factory=dict)  # case id → when the platform acts
    tokens: dict[str, datetime] = field(default_factory=dict)  # issued access tokens → expiry (real clock)
    calls: list[str] = field(default_factory=list)  # every path called, refusals included
    errors: list[int] = field(default_factory=list)  # the errcode of every refusal
    writes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # accepted writes
    tokens_issued: int = 0

    zone = UTC

    # -- the clock and the cases ------------------------------------------------------------------------
    def stamp(self) -> int:
        return int(self.now().timestamp())

    def _touch(self, case: dict[str, Any], status: str) -> None:
        case["status"] = status
        case["update_time"] = self.stamp()
        if status not in MERCHANT_TURN:
            self.deadlines.pop(case["after_sale_order_id"], None)

    def create(self, name: str = "refund", *, deadline_hours: float = 48, **changes: Any) -> dict[str, Any]:
        """A buyer applies: a case from the fixture ``name``, created now, the merchant's deadline ahead."""
        with self._lock:
            case = fixture(name)
            n = next(self._ids)
            case["after_sale_order_id"] = str(int(case["after_sale_order_id"]) + n)
            case["order_id"] = str(int(case["order_id"]) + n)
            case["create_time"] = case["update_time"] = self.stamp()
            case.pop("deadline", None)
            case.update(changes)
            self.cases[case["after_sale_order_id"]] = case
            self.deadlines[case["after_sale_order_id"]] = self.now() + timedelta(hours=deadline_hours)
            return self.get(case["after_sale_order_id"])

    def get(self, case_id: str) -> dict[str, Any]:
        """The case as ``getaftersaleorder`` answers it now (``deadline`` in seconds left)."""
        with self._lock:
            case = copy.deepcopy(self.cases[case_id])
            due = self.deadlines.get(case_id)
            if due is not None and case["status"] in MERCHANT_TURN:
                case["deadline"] = max(0, int((due - self.now()).total_seconds()))
            return case

    def buyer_returns(self, case_id: str, *, carrier: str = "中通快递", waybill: str = "ZT7700112233") -> None:
        with self._lock:
            case = self.cases[case_id]
            assert case["status"] == "USER_WAIT_RETURN", case["status"]
            case["return_info"] = {"waybill_id": waybill, "delivery_id": "ZTO", "delivery_name": carrier}
            self.deadlines[case_id] = self.now() + timedelta(days=10)
            self._touch(case, "MERCHANT_WAIT_RECEIPT")

    def buyer_cancels(self, case_id: str) -> None:
        with self._lock:
            self._touch(self.cases[case_id], "USER_CANCELD")

    def merchant_offers(self, case_id: str, *, amount: int, desc: str = "协商退部分款") -> None:
        """商家协商 made in the 微信小店 back office: the case waits for the buyer (``USER_WAIT_CONFIRM_UPDATE``)."""
        with self._lock:
            case = self.cases[case_id]
            case["merchant_update_detail"] = {"amount": amount, "desc": desc}
            self._touch(case, "USER_WAIT_CONFIRM_UPDATE")

    def buyer_answers_offer(self, case_id: str, *, accept: bool) -> None:
        """Accepted: the offer is the merchant's agreement (a refund is paid, a return waits for the goods);
        declined: the request waits for the merchant again. Both readings are the simulator's (unconfirmed)."""
        with self._lock:
            case = self.cases[case_id]
            offer = case.pop("merchant_update_detail")
            if not accept:
                self.deadlines[case_id] = self.now() + timedelta(hours=48)
                self._touch(case, "MERCHANT_PROCESSING")
                return
            case["refund_info"] = {**(case.get("refund_info") or {}), "amount": offer["amount"]}
            self._touch(case, "USER_WAIT_RETURN" if case["type"] == "RETURN" else "MERCHANT_REFUND_SUCCESS")

    def buyer_complains(self, case_id: str) -> None:
        """The buyer takes a refusal to the platform (纠纷): the case gets a ``complaint_id``."""
        with self._lock:
            case = self.cases[case_id]
            case["complaint_id"] = f"9{case_id}"
            case["update_time"] = self.stamp()

    def advance(self, delta: timedelta) -> list[str]:
        """Move the clock; the platform then acts where the merchant's deadline passed (auto-agree: a refund is
        refunded, a return waits for the goods; a return not confirmed in time is refunded). Returns the ids."""
        acted = []
        with self._lock:
            self.offset += delta
            for case_id, due in list(self.deadlines.items()):
                if due > self.now():
                    continue
                case = self.cases[case_id]
                if case["status"] == "MERCHANT_PROCESSING":
                    self._touch(case, "USER_WAIT_RETURN" if case["type"] == "RETURN" else "MERCHANT_REFUND_SUCCESS")
                elif case["status"] == "MERCHANT_WAIT_RECEIPT":
                    self._touch(case, "MERCHANT_RETURN_SUCCESS")
                else:
                    continue
                acted.append(case_id)
        return acted

    def expire_tokens(self) -> None:
        """Every issued token expires now (the next call with one answers 42001)."""
        with self._lock:
            for token in self.tokens:
                self.tokens[token] = datetime.now(UTC) - timedelta(seconds=1)

    # -- pushing to kefu ----------------------------------------------------------------------------------
    def event(self, case_id: str, *, create_time: int | None = None) -> dict[str, Any]:
        case = self.get(case_id)
        return {
            "ToUserName": self.shop_id,
            "FromUserName": case.get("openid", ""),
            "CreateTime": create_time or self.stamp(),
            "MsgType": "event",
            "Event": "channels_ec_aftersale_update",
            "finder_shop_aftersale_status_update": {
                "status": case["status"],
                "after_sale_order_id": case_id,
                "order_id": case["order_id"],
            },
        }

    def push_request(
        self, event: dict[str, Any], *, safe: bool = False, token: str | None = None, timestamp: int | None = None
    ) -> tuple[str, bytes]:
        """(query string, body) of the push of ``event`` as WeChat sends it (signed with ``token`` if given)."""
        token = token or self.push_token
        stamp, nonce = str(timestamp or int(time.time())), str(int.from_bytes(os.urandom(4), "big"))
        message = json.dumps(event, ensure_ascii=False).encode()
        query = {"timestamp": stamp, "nonce": nonce, "openid": str(event.get("FromUserName", ""))}
        if not safe:
            query["signature"] = wechat_signature(token, stamp, nonce)
            return urllib.parse.urlencode(query), message
        encrypted = wechat_encrypt(message, self.push_aes_key, self.app_id)
        query["signature"] = wechat_signature(token, stamp, nonce)
        query["encrypt_type"] = "aes"
        query["msg_signature"] = wechat_signature(token, stamp, nonce, encrypted)
        body = json.dumps({"ToUserName": event["ToUserName"], "Encrypt": encrypted}).encode()
        return urllib.parse.urlencode(query), body

    def push(self, url: str, event: dict[str, Any], **options: Any) -> tuple[int, bytes]:
        """POST ``event`` to kefu's push URL over HTTP, as WeChat does."""
        query, body = self.push_request(event, **options)
        return post(f"{url}?{query}", body, {"Content-Type": "application/json"})

    # -- the API ----------------------------------------------------------------------------------------
    def token(self, params: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            self.calls.append("/cgi-bin/token")
            if params.get("grant_type") != "client_credential":
                self.errors.append(40002)
                return {"errcode": 40002, "errmsg": "invalid grant_type"}
            if params.get("appid") != self.app_id:
                self.errors.append(40013)
                return {"errcode": 40013, "errmsg": "invalid appid"}
            if params.get("secret") != self.secret:
                self.errors.append(40125)
                return {"errcode": 40125, "errmsg": "invalid appsecret"}
            self.tokens_issued += 1
            token = f"sim-access-token-{self.tokens_issued}-{os.urandom(4).hex()}"
            self.tokens[token] = datetime.now(UTC) + timedelta(seconds=self.token_lifetime)
            return {"access_token": token, "expires_in": self.token_lifetime}

    def handle(self, path: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls.append(path)

            def error(code: int, message: str) -> dict[str, Any]:
                self.errors.append(code)
                return {"errcode": code, "errmsg": f"{message} rid: sim"}

            if self.rate_limit_next > 0:
                self.rate_limit_next -= 1
                self.errors.append(45009)
                return fixture("error_freq_limit")
            if self.busy_next > 0:
                self.busy_next -= 1
                self.errors.append(-1)
                return fixture("error_system_busy")
            expires = self.tokens.get(token)
            if expires is None:
                return error(40001, "invalid credential, access_token is invalid or not latest")
            if expires <= datetime.now(UTC):
                self.errors.append(42001)
                return fixture("error_token_expired")
            handler = {
                "/channels/ec/aftersale/getaftersalelist": self._list,
                "/channels/ec/aftersale/getaftersaleorder": self._detail,
                "/channels/ec/aftersale/acceptapply": self._accept,
                "/channels/ec/aftersale/rejectapply": self._reject,
                "/channels/ec/aftersale/uploadrefundcertificate": self._certificate,
                "/channels/ec/aftersale/acceptexchangereship": self._exchange_reship,
            }.get(path)
            if handler is None:
                return error(40066, "invalid url")
            return handler(body, error)

    def _list(self, body: dict[str, Any], error: Any) -> dict[str, Any]:
        begin, end = body.get("begin_create_time"), body.get("end_create_time")
        if not isinstance(begin, int) or not isinstance(end, int) or end < begin or end - begin > 24 * 3600:
            return error(47001, "data format error: end_create_time - begin_create_time must be within 24 hours")
        rows = sorted(
            (c for c in self.cases.values() if begin <= c["create_time"] <= end),
            key=lambda c: (c["create_time"], c["after_sale_order_id"]),
        )
        start = int(base64.b64decode(body["next_key"]).decode()) if body.get("next_key") else 0
        chunk = rows[start : start + self.page_size]
        more = start + self.page_size < len(rows)
        return {
            "errcode": 0,
            "errmsg": "ok",
            "after_sale_order_id_list": [c["after_sale_order_id"] for c in chunk],
            "has_more": more,
            "next_key": base64.b64encode(str(start + self.page_size).encode()).decode() if more else "",
        }

    def _case(self, body: dict[str, Any], error: Any) -> dict[str, Any]:
        case = self.cases.get(str(body.get("after_sale_order_id", "")))
        if case is None:
            return error(1000001, "售后单不存在")
        return case

    def _detail(self, body: dict[str, Any], error: Any) -> dict[str, Any]:
        case = self._case(body, error)
        if "errcode" in case:
            return case
        return {"errcode": 0, "errmsg": "ok", "after_sale_order": self.get(case["after_sale_order_id"])}

    def _accept(self, body: dict[str, Any], error: Any) -> dict[str, Any]:
        case = self._case(body, error)
        if "errcode" in case:
            return case
        status, kind = case["status"], case["type"]
        if status == "MERCHANT_PROCESSING" and kind == "RETURN":
            if not body.get("address_id"):
                return error(1000002, "同意退货需要提供退货地址 address_id")
            if str(body["address_id"]) not in self.address_ids:
                return error(1000003, "退货地址不存在")
            self._touch(case, "USER_WAIT_RETURN")
        elif status == "MERCHANT_PROCESSING" and kind == "REFUND":
            self._touch(case, "MERCHANT_REFUND_SUCCESS")
        elif status == "MERCHANT_WAIT_RECEIPT":
            self._touch(case, "MERCHANT_RETURN_SUCCESS")
        else:
            return error(1000004, "当前售后单状态不允许同意")
        self.writes.append(("acceptapply", dict(body)))
        return {"errcode": 0, "errmsg": "ok"}

    def _reject(self, body: dict[str, Any], error: Any) -> dict[str, Any]:
        case = self._case(body, error)
        if "errcode" in case:
            return case
        if not str(body.get("reject_reason", "")).strip():
            return error(47001, "data format error: reject_reason")
        if case["status"] not in MERCHANT_TURN:
            return error(1000004, "当前售后单状态不允许拒绝")
        case["merchant_upload_info"] = {
            "reject_reason": body["reject_reason"],
            "refund_certificates": body.get("reject_certificates", []),
        }
        self._touch(case, "MERCHANT_REJECT_RETURN" if case["type"] == "RETURN" else "MERCHANT_REJECT_REFUND")
        self.writes.append(("rejectapply", dict(body)))
        return {"errcode": 0, "errmsg": "ok"}

    def _certificate(self, body: dict[str, Any], error: Any) -> dict[str, Any]:
        case = self._case(body, error)
        if "errcode" in case:
            return case
        if not body.get("refund_certificates"):
            return error(47001, "data format error: refund_certificates")
        case.setdefault("merchant_upload_info", {})["refund_certificates"] = body["refund_certificates"]
        self.writes.append(("uploadrefundcertificate", dict(body)))
        return {"errcode": 0, "errmsg": "ok"}

    def _exchange_reship(self, body: dict[str, Any], error: Any) -> dict[str, Any]:
        case = self._case(body, error)
        if "errcode" in case:
            return case
        if case["type"] != "EXCHANGE":
            return error(1000005, "非换货售后单")
        self.writes.append(("acceptexchangereship", dict(body)))
        return {"errcode": 0, "errmsg": "ok"}


class WechatHandler(SimulatorHandler):
    simulator: WechatSimulator
    content_type = "application/json; charset=UTF-8"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path, _, query = self.path.partition("?")
        if path != "/cgi-bin/token":
            self.reply(404, {"errcode": 40066, "errmsg": "invalid url"})
            return
        self.simulator.take_stall()
        self.reply(200, self.simulator.token(dict(urllib.parse.parse_qsl(query))))

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        raw = self.read_body()
        path, _, query = self.path.partition("?")
        token = dict(urllib.parse.parse_qsl(query)).get("access_token", "")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self.reply(200, {"errcode": 47001, "errmsg": "data format error"})
            return
        self.simulator.take_stall()
        self.reply(200, self.simulator.handle(path, token, body))


@contextmanager
def wechat_running(*, port: int = 0, **behaviour: Any) -> Iterator[WechatSimulator]:
    """The simulator on 127.0.0.1 in a thread (its base URL at ``url``; ``port`` 0: any free one); ``behaviour``
    sets its fields."""
    with running(WechatSimulator(**behaviour), WechatHandler, port=port) as simulator:
        yield simulator
