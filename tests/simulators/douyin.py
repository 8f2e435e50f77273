"""A local Douyin shop (抖店) open platform for the tests: a real HTTP server speaking the gateway's signed calls.

It checks requests as the gateway does, computed here independently of kefu's connector: the app key, the
``method`` against the path (``/afterSale/List`` ↔ ``afterSale.List``), ``v=2``, the timestamp (Unix seconds,
±10 minutes), that ``param_json`` is compact JSON with keys sorted at every depth, the signature (``md5`` or
``hmac-sha256`` over ``secret + app_key… method… param_json… timestamp… v2 + secret``) and the access token. It
keeps after-sales cases in their states with ``update_time`` strictly increasing on every change (the version
``/afterSale/operate`` checks), pages ``/afterSale/List`` from page 0 by update-time window (oldest first only with
``order_by=["update_time asc"]``), refuses writes made on an older ``update_time`` or in the wrong state with the
gateway's 50002 answers, can answer "rate limited" or a system error, or stall past the client's deadline,
agrees on the merchant's behalf when ``status_deadline`` passed on its own clock (``advance``), and pushes
messages to kefu (a JSON array of ``{tag, msg_id, data}`` signed ``md5(app_key + body + app_secret)`` in the
``event-sign`` header). Cases are seeded from the JSON fixtures in ``fixtures/douyin/``.

What the public sources do not confirm is this simulator's assumption, and docs/platforms.md says so: the
rate-limit answer's code, the codes for a bad signature or token (40004 here), the push header's name, the nesting
of ``/afterSale/Detail`` (``process_info.after_sale_info``, ``order_info``).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any

from tests.simulators.base import SimulatedPlatform, SimulatorHandler, load_fixture, post, running
from tests.simulators.douyin_operate import REFUND_ONLY, DouyinOperate

APP_KEY = "7112233445566778899"
APP_SECRET = "sim-douyin-secret-0123456789"
ACCESS_TOKEN = "sim-douyin-access-token"
SHOP_ID = "88001234"
STATUS_CHANGED = "isv.business-failed:20309541"


def fixture(name: str) -> dict[str, Any]:
    return load_fixture("douyin", name)


def gateway_sign(secret: str, params: dict[str, str], param_json: str, method: str) -> str:
    pattern = (
        secret
        + "app_key"
        + params.get("app_key", "")
        + "method"
        + params.get("method", "")
        + "param_json"
        + param_json
        + "timestamp"
        + params.get("timestamp", "")
        + "v"
        + params.get("v", "")
        + secret
    )
    if method == "hmac-sha256":
        return hmac.new(secret.encode("utf-8"), pattern.encode("utf-8"), hashlib.sha256).hexdigest()
    return hashlib.md5(pattern.encode("utf-8")).hexdigest()  # noqa: S324 - the platform's scheme


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_sign(app_key: str, secret: str, body: bytes) -> str:
    return hashlib.md5(app_key.encode() + body + secret.encode()).hexdigest()  # noqa: S324 - the platform's scheme


@dataclass
class DouyinSimulator(DouyinOperate, SimulatedPlatform):
    app_key: str = APP_KEY
    secret: str = APP_SECRET
    access_token: str = ACCESS_TOKEN
    shop_id: str = SHOP_ID
    address_ids: set[int] = field(default_factory=lambda: {70001})
    reject_reason_codes: set[int] = field(default_factory=lambda: {3, 4, 5})
    rate_limit_next: int = 0  # answer this many calls "rate limited"
    fail_next: int = 0  # answer this many calls with a system error (20000)
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)  # every method called, refusals included
    list_pages: list[int] = field(default_factory=list)  # the ``page`` of every /afterSale/List call
    errors: list[str] = field(default_factory=list)  # the code or sub_code of every refusal
    writes: list[dict[str, Any]] = field(default_factory=list)  # accepted /afterSale/operate calls (param_json)
    pushes: list[dict[str, Any]] = field(default_factory=list)
    refresh_token: str = "sim-douyin-refresh-1"
    refreshes: int = 0

    zone = UTC

    # -- the clock and the cases ------------------------------------------------------------------------
    def seconds(self) -> int:
        """The platform's clock in Unix seconds (its times and versions)."""
        return int(self.now().timestamp())

    def _touch(self, case: dict[str, Any], status: int | None = None, *, deadline: float | None = None) -> None:
        info = case["aftersale_info"]
        if status is not None:
            info["aftersale_status"] = status
        info["status_deadline"] = int(self.seconds() + deadline) if deadline else 0
        # update_time: the case's version for /afterSale/operate; strictly increasing here.
        info["update_time"] = max(int(info["update_time"]) + 1, self.seconds())

    def create(self, name: str = "refund_only", *, deadline_hours: float = 48, **changes: Any) -> dict[str, Any]:
        """A buyer applies: a case from the fixture ``name``, created now, the merchant's deadline ahead.
        ``changes`` overwrite ``aftersale_info`` fields (e.g. ``aftersale_status=99``)."""
        with self._lock:
            case = fixture(name)
            n = next(self._ids)
            info, order = case["aftersale_info"], case["order_info"]
            info["aftersale_id"] = str(int(info["aftersale_id"]) + n)
            order["order_id"] = str(int(order["order_id"]) + n * 10)
            for line in order["related_order_info"]:
                line["order_id"] = str(int(line["order_id"]) + n * 10)
            info["related_id"] = order["related_order_info"][0]["order_id"]
            info["shop_id"] = int(self.shop_id)
            now = self.seconds()
            info["apply_time"] = info["create_time"] = info["update_time"] = now
            info["status_deadline"] = int(now + deadline_hours * 3600)
            info.update(changes)
            self.cases[info["aftersale_id"]] = case
            return copy.deepcopy(info)

    def get(self, case_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.cases[case_id]["aftersale_info"])

    def buyer_returns(self, case_id: str, *, company: str = "中通快递", code: str = "ZT7700112233") -> None:
        with self._lock:
            case = self.cases[case_id]
            assert case["aftersale_info"]["aftersale_status"] == 7, case["aftersale_info"]["aftersale_status"]
            case["aftersale_info"]["return_logistics_code"] = code
            case["aftersale_info"]["return_logistics_company_name"] = company
            self._touch(case, 11, deadline=10 * 86400)

    def merchant_receives(self, case_id: str) -> None:
        """In the 抖店 back office the merchant confirms the exchange's goods back: to ship the new one (8)."""
        with self._lock:
            self._touch(self.cases[case_id], 8, deadline=2 * 86400)

    def merchant_ships(self, case_id: str) -> None:
        """In the back office the merchant ships the exchange or 补寄 item (no operate type is confirmed)."""
        with self._lock:
            self._touch(self.cases[case_id], 13, deadline=None)

    def buyer_receives(self, case_id: str) -> None:
        """The buyer confirms the new item: 换货/补寄成功 (14)."""
        with self._lock:
            self._touch(self.cases[case_id], 14, deadline=None)

    def buyer_cancels(self, case_id: str) -> None:
        with self._lock:
            self._touch(self.cases[case_id], 28)

    def buyer_asks_arbitration(self, case_id: str) -> None:
        """平台介入: the buyer asks the platform to decide after the merchant's refusal."""
        with self._lock:
            case = self.cases[case_id]
            case["aftersale_info"]["arbitrate_status"] = 1
            self._touch(case, deadline=3 * 86400)

    def platform_rules(self, case_id: str, *, for_buyer: bool) -> None:
        """The platform's ruling: the buyer is refunded (售后成功) or the case fails (售后失败)."""
        with self._lock:
            case = self.cases[case_id]
            info = case["aftersale_info"]
            info["arbitrate_status"] = 2
            if for_buyer:
                info["real_refund_amount"] = info["refund_amount"]
            self._touch(case, 12 if for_buyer else 28)

    def advance(self, delta: timedelta) -> list[str]:
        """Move the clock; the platform then acts where the merchant's ``status_deadline`` passed (auto-agree:
        a return or exchange waits for the goods, a 仅退款 is refunded, goods back unanswered are refunded).
        Returns the ids it acted on."""
        acted = []
        with self._lock:
            self.offset += delta
            for case_id, case in self.cases.items():
                info = case["aftersale_info"]
                due = int(info.get("status_deadline") or 0)
                if not due or due > self.seconds():
                    continue
                kind, status = int(info["aftersale_type"]), int(info["aftersale_status"])
                if status == 6:
                    if kind in REFUND_ONLY:
                        info["real_refund_amount"] = info["refund_amount"]
                        self._touch(case, 12)
                    elif kind == 7:
                        self._touch(case, 8, deadline=2 * 86400)
                    else:
                        self._touch(case, 7, deadline=7 * 86400)
                elif status == 11:
                    if kind == 0:
                        info["real_refund_amount"] = info["refund_amount"]
                    self._touch(case, 12 if kind == 0 else 8, deadline=None if kind == 0 else 2 * 86400)
                else:
                    continue
                acted.append(case_id)
        return acted

    # -- pushing to kefu ----------------------------------------------------------------------------------
    def message(self, case_id: str, tag: int = 200, *, msg_id: str | None = None) -> dict[str, Any]:
        info = self.get(case_id)
        data = {
            "p_id": int(self.cases[case_id]["order_info"]["order_id"]),
            "s_id": int(info["related_id"]),
            "shop_id": int(self.shop_id),
            "aftersale_id": int(info["aftersale_id"]),
            "aftersale_status": info["aftersale_status"],
            "aftersale_type": info["aftersale_type"],
            "refund_amount": info["refund_amount"],
            "apply_time": info["apply_time"],
        }
        return {
            "tag": str(tag),
            "msg_id": msg_id or f"{case_id}{info['update_time']}{tag}",
            "data": json.dumps(data, ensure_ascii=False),
        }

    def push(self, url: str, *messages: dict[str, Any], secret: str | None = None) -> tuple[int, bytes]:
        """POST messages (always a JSON array) to kefu's push URL, signed ``md5(app_key + body + secret)``."""
        body = json.dumps(list(messages), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "app-id": self.app_key,
            "event-sign": event_sign(self.app_key, secret or self.secret, body),
        }
        self.pushes.extend(messages)
        return post(url, body, headers)

    # -- the gateway --------------------------------------------------------------------------------------
    def handle(self, path: str, params: dict[str, str], param_json: str) -> dict[str, Any]:
        method = path.strip("/").replace("/", ".")
        with self._lock:
            self.calls.append(method)

            def error(code: int, msg: str, sub_code: str = "", sub_msg: str = "") -> dict[str, Any]:
                self.errors.append(sub_code or str(code))
                return {
                    "code": code,
                    "msg": msg,
                    "sub_code": sub_code,
                    "sub_msg": sub_msg,
                    "data": None,
                    "log_id": "sim",
                }

            if self.rate_limit_next > 0:
                self.rate_limit_next -= 1
                limited = fixture("error_rate_limited")
                self.errors.append(limited["sub_code"])
                return limited
            if self.fail_next > 0:
                self.fail_next -= 1
                failed = fixture("error_system")
                self.errors.append(failed["sub_code"])
                return failed
            if params.get("app_key") != self.app_key:
                return error(40004, "参数不合法", "isv.app-key-invalid", "app_key 不存在")
            if params.get("method") != method or params.get("v") != "2":
                return error(40004, "参数不合法", "isv.method-invalid", "method 与路径不一致或 v 不是 2")
            try:
                sent = int(params.get("timestamp", ""))
            except ValueError:
                return error(40004, "参数不合法", "isv.timestamp-invalid", "timestamp 格式错误")
            if abs(sent - time.time()) > 600:
                return error(40004, "参数不合法", "isv.timestamp-invalid", "timestamp 已过期")
            try:
                business = json.loads(param_json or "{}")
            except ValueError:
                return error(40004, "参数不合法", "isv.param-json-invalid", "param_json 不是 JSON")
            if param_json != canonical(business):
                return error(40004, "参数不合法", "isv.param-json-invalid", "param_json 须为紧凑 JSON，键递归排序")
            sign_method = params.get("sign_method", "md5")
            expected = gateway_sign(self.secret, params, param_json, sign_method)
            if sign_method not in ("md5", "hmac-sha256") or not hmac.compare_digest(params.get("sign", ""), expected):
                return error(40004, "参数不合法", "isv.signature-invalid", "签名校验失败")
            if method == "token.refresh":
                return self._token_refresh(business, error)
            if params.get("access_token") != self.access_token:
                return error(40004, "参数不合法", "isv.access-token-invalid", "access_token 无效")
            handler = {
                "afterSale.List": self._list,
                "afterSale.Detail": self._detail,
                "afterSale.operate": self._operate,
            }.get(method)
            if handler is None:
                return error(40004, "参数不合法", "isv.method-not-exist", "接口不存在")
            return handler(business, error)

    @staticmethod
    def ok(data: dict[str, Any]) -> dict[str, Any]:
        return {"code": 10000, "msg": "success", "sub_code": "", "sub_msg": "", "data": data, "log_id": "sim"}

    def _token_refresh(self, business: dict[str, Any], error: Any) -> dict[str, Any]:
        """A new access token (the old one stops working) and a new refresh token."""
        if business.get("grant_type") != "refresh_token" or business.get("refresh_token") != self.refresh_token:
            return error(40004, "参数不合法", "isv.refresh-token-invalid", "refresh_token 无效")
        self.refreshes += 1
        self.access_token = f"sim-douyin-access-refreshed-{self.refreshes}"
        self.refresh_token = f"sim-douyin-refresh-{self.refreshes + 1}"
        return self.ok(
            {
                "access_token": self.access_token,
                "expires_in": 604800,
                "refresh_token": self.refresh_token,
                "scope": "SCOPE",
                "shop_id": int(self.shop_id),
            }
        )

    def _list(self, business: dict[str, Any], error: Any) -> dict[str, Any]:
        page, size = business.get("page", 0), business.get("size", 10)
        if not isinstance(page, int) or page < 0 or not isinstance(size, int) or not 1 <= size <= 100:
            return error(40004, "参数不合法", "isv.parameter-invalid", "page 从 0 开始，size 1-100")
        self.list_pages.append(page)
        start = business.get("update_start_time")
        end = business.get("update_end_time")
        rows = [
            case
            for case in self.cases.values()
            if (start is None or case["aftersale_info"]["update_time"] >= start)
            and (end is None or case["aftersale_info"]["update_time"] <= end)
        ]
        if business.get("order_by") == ["update_time asc"]:
            rows.sort(key=lambda c: (c["aftersale_info"]["update_time"], c["aftersale_info"]["aftersale_id"]))
        else:  # the platform's default order: newest application first (a changing case moves between pages)
            rows.sort(key=lambda c: c["aftersale_info"]["create_time"], reverse=True)
        chunk = rows[page * size : (page + 1) * size]
        return self.ok(
            {
                "items": copy.deepcopy(chunk),
                "has_more": (page + 1) * size < len(rows),
                "total": len(rows),
                "page": page,
                "size": size,
            }
        )

    def _detail(self, business: dict[str, Any], error: Any) -> dict[str, Any]:
        case = self.cases.get(str(business.get("after_sale_id", "")))
        if case is None:
            return error(50002, "业务处理失败", "isv.business-failed:20309000", "售后单不存在")
        info = case["aftersale_info"]
        after_sale_info = {
            "after_sale_id": info["aftersale_id"],
            "after_sale_type": info["aftersale_type"],
            "after_sale_status": info["aftersale_status"],
            "after_sale_apply_count": info.get("aftersale_num", 1),
            "apply_time": info["apply_time"],
            "create_time": info["create_time"],
            "update_time": info["update_time"],
            "status_deadline": info["status_deadline"],
            "reason_code": info.get("reason", 0),
            "reason": case.get("text_part", {}).get("reason_text", ""),
            "refund_total_amount": info["refund_amount"],
            "real_refund_amount": info.get("real_refund_amount", 0),
            "refund_post_amount": info.get("refund_post_amount", 0),
            "return_logistics_code": info.get("return_logistics_code", ""),
            "return_logistics_company_name": info.get("return_logistics_company_name", ""),
            "shop_id": info.get("shop_id"),
        }
        return self.ok(
            {
                "process_info": {
                    "after_sale_info": after_sale_info,
                    "arbitrate_info": {"arbitrate_status": info.get("arbitrate_status", 0)},
                },
                "order_info": copy.deepcopy(case["order_info"]),
            }
        )


class DouyinHandler(SimulatorHandler):
    simulator: DouyinSimulator

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        parsed = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        body = self.read_body().decode()
        self.simulator.take_stall()
        self.reply(200, self.simulator.handle(parsed.path, params, body or params.get("param_json", "")))


@contextmanager
def douyin_running(*, port: int = 0, **behaviour: Any) -> Iterator[DouyinSimulator]:
    """The simulator on 127.0.0.1 in a thread (its gateway at ``url``; ``port`` 0: any free one); ``behaviour``
    sets its fields."""
    with running(DouyinSimulator(**behaviour), DouyinHandler, port=port) as simulator:
        yield simulator
