"""A local Taobao/Tmall open platform (TOP) for the tests: a real HTTP server speaking the router's form posts.

It checks requests as TOP does, computed here independently of kefu's connector: the app key, the session,
the timestamp (Beijing time, ±10 minutes) and the signature (``md5``: MD5(secret + sorted key/values + secret);
``hmac``: HMAC-MD5(secret, sorted key/values); both upper hex). It keeps refunds in their states, bumps
``refund_version`` and ``modified`` on every change, refuses writes carrying another version or made in the wrong
state (``isv.*`` error_response), pages ``taobao.refunds.receive.get`` by modified window with ``has_next``, can
answer "call limited" (code 7) or stall past the client's deadline, auto-agrees a request whose
``refund_remind_timeout`` has passed on its own clock (``advance``), and pushes TMC-shaped messages to kefu.
Cases are seeded from the JSON fixtures in ``fixtures/taobao/`` (documented sample payloads).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tests.simulators.base import (
    BEIJING,
    FORMAT,
    SimulatedPlatform,
    SimulatorHandler,
    load_fixture,
    post_signed,
    running,
    top_md5_sign,
)
from tests.simulators.taobao_flows import TaobaoFlows, parse_multipart

APP_KEY = "12345678"
APP_SECRET = "sim-secret-0123456789abcdef"
SESSION = "6100a1b2c3d4e5f6sim"


def fixture(name: str) -> dict[str, Any]:
    return load_fixture("taobao", name)


def top_sign(params: dict[str, str], secret: str, method: str) -> str:
    if method == "hmac":
        joined = "".join(k + params[k] for k in sorted(params) if k != "sign")
        return hmac.new(secret.encode("utf-8"), joined.encode("utf-8"), hashlib.md5).hexdigest().upper()
    return top_md5_sign(params, secret)


@dataclass
class TaobaoSimulator(TaobaoFlows, SimulatedPlatform):
    app_key: str = APP_KEY
    secret: str = APP_SECRET
    session: str = SESSION
    seller_nick: str = "kefu旗舰店"
    address_ids: set[str] = field(default_factory=lambda: {"5001"})
    rate_limit_next: int = 0  # answer this many calls with code 7
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)  # every method called, refusals included
    errors: list[str] = field(default_factory=list)  # the code or sub_code of every refusal
    writes: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # accepted writes
    pushes: list[dict[str, Any]] = field(default_factory=list)
    offers: dict[str, dict[str, Any]] = field(default_factory=dict)  # 协商 awaiting the buyer, by refund id
    evidence: list[dict[str, Any]] = field(default_factory=list)  # taobao.refund.message.add received
    exchanges: dict[str, dict[str, Any]] = field(default_factory=dict)  # tmall exchange disputes
    request_files: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)  # the call's multipart files
    refresh_token: str = "sim-refresh-token-1"
    refreshes: int = 0

    # -- the clock and the cases ------------------------------------------------------------------------
    def stamp(self) -> str:
        return self.now().strftime(FORMAT)

    def _touch(self, refund: dict[str, Any], status: str | None = None) -> None:
        if status is not None:
            refund["status"] = status
        refund["modified"] = self.stamp()
        # refund_version: a millisecond stamp in TOP; strictly increasing here.
        refund["refund_version"] = max(int(refund["refund_version"]) + 1, int(self.now().timestamp() * 1000))

    def create(self, name: str = "refund_only", *, deadline_hours: float = 48, **changes: Any) -> dict[str, Any]:
        """A buyer applies: a case from the fixture ``name``, created now, the merchant's deadline ahead."""
        with self._lock:
            refund = fixture(name)
            n = next(self._ids)
            refund["refund_id"] = str(int(refund["refund_id"]) + n)
            refund["tid"] = str(int(refund["tid"]) + n)
            refund["oid"] = str(int(refund["oid"]) + n)
            refund["seller_nick"] = self.seller_nick
            refund["created"] = self.stamp()
            refund["refund_version"] = int(self.now().timestamp() * 1000)
            refund["modified"] = self.stamp()
            refund["refund_remind_timeout"] = {
                "exist_timeout": True,
                "timeout": (self.now() + timedelta(hours=deadline_hours)).strftime(FORMAT),
                "remind_type": 1,
            }
            refund.update(changes)
            self.refunds[refund["refund_id"]] = refund
            return copy.deepcopy(refund)

    def get(self, refund_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.refunds[refund_id])

    def buyer_returns(self, refund_id: str, *, company: str = "中通快递", sid: str = "ZT7700112233") -> None:
        with self._lock:
            refund = self.refunds[refund_id]
            assert refund["status"] == "WAIT_BUYER_RETURN_GOODS", refund["status"]
            refund["company_name"], refund["sid"] = company, sid
            refund["refund_remind_timeout"] = {
                "exist_timeout": True,
                "timeout": (self.now() + timedelta(days=10)).strftime(FORMAT),
                "remind_type": 3,
            }
            self._touch(refund, "WAIT_SELLER_CONFIRM_GOODS")

    def buyer_cancels(self, refund_id: str) -> None:
        with self._lock:
            self._touch(self.refunds[refund_id], "CLOSED")

    def advance(self, delta: timedelta) -> list[str]:
        """Move the clock; the platform then acts where the merchant's deadline passed (auto-agree: a return
        waits for the goods, a refund-only request and an unconfirmed return are refunded). Returns the ids."""
        acted = []
        with self._lock:
            self.offset += delta
            for refund in self.refunds.values():
                remind = refund.get("refund_remind_timeout") or {}
                due = remind.get("timeout")
                if not remind.get("exist_timeout") or not due:
                    continue
                if datetime.strptime(due, FORMAT).replace(tzinfo=BEIJING) > self.now():
                    continue
                if refund["status"] == "WAIT_SELLER_AGREE":
                    refund["refund_remind_timeout"] = {"exist_timeout": False}
                    self._touch(refund, "WAIT_BUYER_RETURN_GOODS" if refund["has_good_return"] else "SUCCESS")
                    acted.append(refund["refund_id"])
                elif refund["status"] == "WAIT_SELLER_CONFIRM_GOODS":
                    refund["refund_remind_timeout"] = {"exist_timeout": False}
                    self._touch(refund, "SUCCESS")
                    acted.append(refund["refund_id"])
        return acted

    # -- pushing to kefu ----------------------------------------------------------------------------------
    def message(self, refund_id: str, topic: str, *, message_id: str | None = None) -> dict[str, Any]:
        refund = self.get(refund_id)
        content = {
            key: refund.get(key) for key in ("refund_id", "tid", "oid", "refund_fee", "refund_phase", "modified")
        }
        content["bill_type"] = "return_bill" if refund.get("has_good_return") else "refund_bill"
        return {
            "id": message_id or f"{refund_id}-{refund['refund_version']}-{topic}",
            "topic": f"taobao_refund_{topic}",
            "pub_time": self.stamp(),
            "user_nick": self.seller_nick,
            "content": json.dumps(content, ensure_ascii=False),
        }

    def push(self, url: str, *messages: dict[str, Any], secret: str | None = None) -> tuple[int, bytes]:
        """POST messages to kefu's push URL, signed with the app secret (or ``secret``)."""
        self.pushes.extend(messages)
        return post_signed(url, messages, secret or self.secret)

    # -- OAuth ------------------------------------------------------------------------------------------
    def token(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """``grant_type=refresh_token``: a new session (the old one stops working) and a new refresh token."""
        with self._lock:
            if params.get("grant_type") != "refresh_token" or params.get("client_id") != self.app_key:
                return 400, {"error": "invalid_client", "error_description": "client_id 错误"}
            if params.get("client_secret") != self.secret:
                return 401, {"error": "invalid_client", "error_description": "client_secret 错误"}
            if params.get("refresh_token") != self.refresh_token:
                return 400, {"error": "invalid_grant", "error_description": "refresh_token 无效"}
            self.refreshes += 1
            self.session = f"6100sim-refreshed-{self.refreshes}"
            self.refresh_token = f"sim-refresh-token-{self.refreshes + 1}"
            return 200, {
                "access_token": self.session,
                "token_type": "Bearer",
                "expires_in": 86400,
                "refresh_token": self.refresh_token,
                "taobao_user_nick": self.seller_nick,
            }

    # -- the router ---------------------------------------------------------------------------------------
    def handle(self, params: dict[str, str], files: dict[str, tuple[str, bytes, str]] | None = None) -> dict[str, Any]:
        method = params.get("method", "")
        with self._lock:
            self.calls.append(method)
            self.request_files = files or {}

            def error(code: int, msg: str, sub_code: str = "", sub_msg: str = "") -> dict[str, Any]:
                self.errors.append(sub_code or str(code))
                body: dict[str, Any] = {"code": code, "msg": msg, "request_id": "sim"}
                if sub_code:
                    body.update(sub_code=sub_code, sub_msg=sub_msg)
                return {"error_response": body}

            if self.rate_limit_next > 0:
                self.rate_limit_next -= 1
                limited = fixture("error_call_limited")
                self.errors.append("7")
                return limited
            if params.get("app_key") != self.app_key:
                return error(29, "Invalid app Key")
            sign_method = params.get("sign_method", "md5")
            if sign_method not in ("md5", "hmac") or params.get("sign") != top_sign(params, self.secret, sign_method):
                return error(25, "Invalid signature")
            if params.get("session") != self.session:
                return error(27, "Invalid session", "invalid-sessionkey", "SessionKey非法")
            try:
                sent = datetime.strptime(params.get("timestamp", ""), FORMAT).replace(tzinfo=BEIJING)
            except ValueError:
                return error(31, "Invalid timestamp")
            if abs((sent - datetime.now(BEIJING)).total_seconds()) > 600:
                return error(31, "Invalid timestamp")
            handler = {
                "taobao.refunds.receive.get": self._receive_get,
                "taobao.refund.get": self._refund_get,
                "taobao.rp.refunds.agree": self._refunds_agree,
                "taobao.rp.returngoods.agree": self._returngoods_agree,
                "taobao.refund.refuse": self._refund_refuse,
                **self.flow_handlers(),
            }.get(method)
            if handler is None:
                return error(22, "Invalid method")
            answer = handler(params, error)
            return answer

    def _receive_get(self, params: dict[str, str], error: Any) -> dict[str, Any]:
        start = params.get("start_modified", "")
        end = params.get("end_modified", "")
        page, size = int(params.get("page_no", "1")), int(params.get("page_size", "40"))
        if page < 1 or not 1 <= size <= 100:
            return error(40, "Missing required arguments", "isv.invalid-parameter", "page_no/page_size")
        rows = sorted(
            (
                r
                for r in self.refunds.values()
                if (not start or r["modified"] >= start) and (not end or r["modified"] <= end)
            ),
            key=lambda r: (r["modified"], r["refund_id"]),
        )
        chunk = rows[(page - 1) * size : page * size]
        answer: dict[str, Any] = {"refunds": {"refund": copy.deepcopy(chunk)}}
        if params.get("use_has_next") == "true":
            answer["has_next"] = page * size < len(rows)
        else:
            answer["total_results"] = len(rows)
        return {"refunds_receive_get_response": answer}

    def _find(self, refund_id: str, error: Any) -> dict[str, Any] | dict[str, Any]:
        refund = self.refunds.get(refund_id)
        if refund is None:
            return error(15, "Remote service error", "isv.refund-not-exist", "退款单不存在")
        return refund

    def _refund_get(self, params: dict[str, str], error: Any) -> dict[str, Any]:
        refund = self._find(params.get("refund_id", ""), error)
        if "error_response" in refund:
            return refund
        return {"refund_get_response": {"refund": copy.deepcopy(refund)}}

    def _version_error(self, refund: dict[str, Any], version: str, error: Any) -> dict[str, Any] | None:
        if str(refund["refund_version"]) != version:
            return error(15, "Remote service error", "isv.refund-version-error", "退款版本号已变更，请刷新后重试")
        return None

    def _refunds_agree(self, params: dict[str, str], error: Any) -> dict[str, Any]:
        results = []
        for info in params.get("refund_infos", "").split(","):
            refund_id, fen, version, _phase = (info.split("|") + ["", "", "", ""])[:4]
            refund = self.refunds.get(refund_id)
            message = ""
            if refund is None:
                message = "退款单不存在"
            elif str(refund["refund_version"]) != version:
                message = "退款版本号已变更，请刷新后重试"
            elif refund["status"] not in ("WAIT_SELLER_AGREE", "WAIT_SELLER_CONFIRM_GOODS") or (
                refund["status"] == "WAIT_SELLER_AGREE" and refund["has_good_return"]
            ):
                message = "当前退款状态不允许同意退款"
            elif int(fen or 0) != round(float(refund["refund_fee"]) * 100):
                message = "退款金额与申请金额不一致"
            if message:
                self.errors.append("refund_refused")
                results.append({"refund_id": refund_id, "succ": False, "message": message})
                continue
            refund["refund_remind_timeout"] = {"exist_timeout": False}
            self._touch(refund, "SUCCESS")
            self.writes.append(("taobao.rp.refunds.agree", dict(params)))
            results.append({"refund_id": refund_id, "succ": True, "message": "成功"})
        succ = all(r["succ"] for r in results)
        return {
            "rp_refunds_agree_response": {
                "msg": "成功" if succ else results[0]["message"],
                "succ": succ,
                "results": {"refund_mapping_result": results},
            }
        }

    def _returngoods_agree(self, params: dict[str, str], error: Any) -> dict[str, Any]:
        refund = self._find(params.get("refund_id", ""), error)
        if "error_response" in refund:
            return refund
        if not params.get("seller_address_id"):
            return error(40, "Missing required arguments", "isv.missing-parameter", "seller_address_id")
        if params["seller_address_id"] not in self.address_ids:
            return error(15, "Remote service error", "isv.invalid-address", "退货地址不存在")
        refused = self._version_error(refund, params.get("refund_version", ""), error)
        if refused:
            return refused
        if refund["status"] != "WAIT_SELLER_AGREE" or not refund["has_good_return"]:
            return error(15, "Remote service error", "isv.refund-status-error", "当前退款状态不允许同意退货")
        refund["refund_remind_timeout"] = {"exist_timeout": False}
        self._touch(refund, "WAIT_BUYER_RETURN_GOODS")
        self.writes.append(("taobao.rp.returngoods.agree", dict(params)))
        return {"rp_returngoods_agree_response": {"is_success": True}}

    def _refund_refuse(self, params: dict[str, str], error: Any) -> dict[str, Any]:
        refund = self._find(params.get("refund_id", ""), error)
        if "error_response" in refund:
            return refund
        message = params.get("refuse_message", "")
        if not 2 <= len(message) <= 200:
            return error(40, "Invalid arguments", "isv.invalid-parameter", "refuse_message 长度须为2-200")
        refused = self._version_error(refund, params.get("refund_version", ""), error)
        if refused:
            return refused
        if refund["status"] not in ("WAIT_SELLER_AGREE", "WAIT_SELLER_CONFIRM_GOODS"):
            return error(15, "Remote service error", "isv.refund-status-error", "当前退款状态不允许拒绝")
        refund["refund_remind_timeout"] = {"exist_timeout": False}
        self._touch(refund, "SELLER_REFUSE_BUYER")
        self.writes.append(("taobao.refund.refuse", dict(params)))
        return {"refund_refuse_response": {"is_success": True, "refund": copy.deepcopy(refund)}}


class TaobaoHandler(SimulatorHandler):
    simulator: TaobaoSimulator

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.read_body()
        files: dict[str, tuple[str, bytes, str]] = {}
        if self.headers.get("Content-Type", "").startswith("multipart/form-data"):
            params, files = parse_multipart(self.headers["Content-Type"], body)
        else:
            params = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        if self.path.startswith("/token"):
            status, answer = self.simulator.token(params)
            self.reply(status, answer)
            return
        self.simulator.take_stall()
        self.reply(200, self.simulator.handle(params, files))


@contextmanager
def taobao_running(*, port: int = 0, **behaviour: Any) -> Iterator[TaobaoSimulator]:
    """The simulator on 127.0.0.1 in a thread (its router at ``url``; ``port`` 0: any free one); ``behaviour``
    sets its fields."""
    with running(TaobaoSimulator(**behaviour), TaobaoHandler, path="/router/rest", port=port) as simulator:
        yield simulator
