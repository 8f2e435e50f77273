"""A local Pinduoduo open platform for the tests: a real HTTP server speaking the router's form posts, and PMC.

It checks requests as PDD does, computed here independently of kefu's connector: ``client_id``,
``access_token``, ``data_type=JSON``, the timestamp (Unix seconds, ±10 minutes) and the signature
(MD5(client_secret + sorted key/values + client_secret), upper hex; ``request`` signed as the JSON string sent).
It keeps after-sales cases in their statuses and stamps ``updated_time`` (whole seconds, Beijing time) on every
change; answers ``pdd.refund.list.increment.get`` only with both required filters and a window of at most 30
minutes, paged from 1 with ``total_count``, rows in the list's codes (type 2–6, amounts in yuan strings);
``pdd.refund.information.get`` in the detail's codes (type 1–5, amounts in fen, ``expire_time`` only while the
merchant must act); refuses writes in the wrong status (``response.result.succ=false`` with PDD's message) or
without a valid return address; can answer 70031 (rate limited) or stall past the client's deadline; agrees on
its own when the merchant's deadline passes on its own clock (``advance``); and delivers PMC ``Common`` frames to
kefu's push URL as a bridge posts them, remembering which frames were acknowledged (``ack``) with the right shape.

Error codes other than 70031 are this simulator's choice (PLATFORMS.md names no others); kefu maps them as
permanent. Cases are seeded from the JSON fixtures in ``fixtures/pdd/``.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tests.simulators.base import (
    BEIJING,
    FORMAT,
    SimulatedPlatform,
    SimulatorHandler,
    kefu_push_signature,
    load_fixture,
    running,
    top_md5_sign,
)
from tests.simulators.pdd_frames import PmcFrames

CLIENT_ID = "sim0c0ad2da4fbf43d69a930f44dc5a"
CLIENT_SECRET = "sim-pdd-secret-f9ab58883ba3797328e1"
ACCESS_TOKEN = "sim-pdd-token-6ab1c2d3"
MALL_ID = "171504183"
MERCHANT_TURN = {2, 3, 14, 21, 32, 33}


def fixture(name: str) -> dict[str, Any]:
    return load_fixture("pdd", name)


pdd_sign = top_md5_sign  # MD5(client_secret + sorted key/values + client_secret), upper hex
bridge_signature = kefu_push_signature  # what the HTTP bridge signs its posts with


def yuan(fen: int) -> str:
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


@dataclass
class PddSimulator(PmcFrames, SimulatedPlatform):
    client_id: str = CLIENT_ID
    secret: str = CLIENT_SECRET
    access_token: str = ACCESS_TOKEN
    mall_id: str = MALL_ID
    addresses: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"id": 8001, "refund_address_id": "8001", "refund_name": "售后仓", "is_default": "0"},
            {"id": 8002, "refund_address_id": "8002", "refund_name": "杭州退货仓", "is_default": "1"},
        ]
    )
    rate_limit_next: int = 0  # answer this many calls with 70031
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)  # after_sales_id → state
    calls: list[str] = field(default_factory=list)  # every API called (``type``), refusals included
    errors: list[str] = field(default_factory=list)  # the error_code (or "refused") of every refusal
    writes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # accepted writes: (type, request)
    frames: list[dict[str, Any]] = field(default_factory=list)  # PMC frames delivered (``frame``)
    unacked: dict[int, dict[str, Any]] = field(default_factory=dict)  # delivered, not acknowledged yet
    bad_acks: list[str] = field(default_factory=list)
    detail_missing: set[str] = field(default_factory=set)  # after_sales_ids the detail says do not exist
    refresh_token: str = "sim-pdd-refresh-1"
    refreshes: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        self._frame_ids = itertools.count(480000000001)

    # -- the clock and the cases ------------------------------------------------------------------------
    def _touch(self, case: dict[str, Any], status: int | None = None) -> None:
        if status is not None:
            case["after_sales_status"] = status
        case["updated_time"] = self.now().strftime(FORMAT)

    def case_id(self, after_sales_id: str) -> str:
        """The case id kefu keeps: ``<after_sales_id>:<order_sn>``."""
        return f"{after_sales_id}:{self.cases[after_sales_id]['order_sn']}"

    def create(self, name: str = "refund_only", *, deadline_hours: float = 48, **changes: Any) -> dict[str, Any]:
        """A buyer applies: a case from the fixture ``name``, updated now, the merchant's deadline ahead.
        Returns the detail (``pdd.refund.information.get``'s fields)."""
        with self._lock:
            data = fixture(name)
            case, extras = data["detail"], data["list_row"]
            n = next(self._ids)
            case["id"] = int(case["id"]) + n
            head, tail = case["order_sn"].split("-")
            case["order_sn"] = f"{head}-{int(tail) + n}"
            case["updated_time"] = self.now().strftime(FORMAT)
            case["expire_time"] = int((self.now() + timedelta(hours=deadline_hours)).timestamp())
            case["_list"] = {**extras, "created_time": self.now().strftime(FORMAT)}
            case.update(changes)
            self.cases[str(case["id"])] = case
            return self.detail(str(case["id"]))

    def detail(self, after_sales_id: str) -> dict[str, Any]:
        """The case as ``pdd.refund.information.get`` answers it."""
        with self._lock:
            case = copy.deepcopy(self.cases[after_sales_id])
            case.pop("_list", None)
            if case["after_sales_status"] not in MERCHANT_TURN | {8}:  # 8: the evidence deadline
                case["expire_time"] = None
            return case

    def row(self, after_sales_id: str) -> dict[str, Any]:
        """The case as a ``pdd.refund.list.increment.get`` row: list type codes, amounts in yuan strings."""
        case = self.cases[after_sales_id]
        return {
            "id": case["id"],
            "order_sn": case["order_sn"],
            "after_sales_type": int(case["after_sales_type"]) + 1,
            "after_sales_status": case["after_sales_status"],
            "after_sale_reason": case["after_sales_reason"],
            "refund_amount": yuan(case["refund_amount"]),
            "order_amount": yuan(case["order_amount"]),
            "discount_amount": yuan(case["discount_amount"]),
            "goods_number": str(case["goods_number"]),
            "goods_price": yuan(case["goods_price"]),
            "sku_id": case["sku_id"],
            "shipping_name": case["shipping_name"],
            "tracking_number": "YT0000000001",  # the order's own parcel, not the return
            "updated_time": case["updated_time"],
            "confirm_time": datetime.fromtimestamp(case["confirm_time"], BEIJING).strftime(FORMAT),
            "speed_refund_flag": case["speed_refund_flag"],
            "dispute_refund_status": case["dispute_refund_status"],
            "refund_operator_role": case["refund_operator_role"],
            "user_shipping_status": case["user_shipping_status"],
            **case["_list"],
        }

    def buyer_returns(self, after_sales_id: str, *, company: str = "中通快递", waybill: str = "ZT7700112233") -> None:
        with self._lock:
            case = self.cases[after_sales_id]
            assert case["after_sales_status"] == 7, case["after_sales_status"]
            case["shipping_name"], case["express_no"] = company, waybill
            case["expire_time"] = int((self.now() + timedelta(days=10)).timestamp())
            self._touch(case, 3)

    def platform_intervenes(self, after_sales_id: str, *, evidence_hours: float = 24) -> None:
        """平台处理中 (8): the platform took the case over; the merchant's evidence is due by ``expire_time``."""
        with self._lock:
            case = self.cases[after_sales_id]
            case["expire_time"] = int((self.now() + timedelta(hours=evidence_hours)).timestamp())
            self._touch(case, 8)

    def platform_rules(self, after_sales_id: str, *, for_buyer: bool, refund_fen: int | None = None) -> None:
        """The ruling: 平台同意退款 (5, refunding ``refund_fen`` if the platform decided another amount) or
        平台拒绝 (9, closed)."""
        with self._lock:
            case = self.cases[after_sales_id]
            if for_buyer and refund_fen is not None:
                case["refund_amount"] = refund_fen
            self._touch(case, 5 if for_buyer else 9)

    def buyer_cancels(self, after_sales_id: str) -> None:
        with self._lock:
            self._touch(self.cases[after_sales_id], 11)

    def advance(self, delta: timedelta) -> list[str]:
        """Move the clock. Where the merchant's deadline passed the platform agrees for them (a refund-only
        request and an unconfirmed return are refunded, a return request waits for the goods); refunds agreed
        before are paid out (4 → 10). Returns the after-sales ids the platform acted on."""
        acted = []
        with self._lock:
            self.offset += delta
            now = int(self.now().timestamp())
            for key, case in self.cases.items():
                status = case["after_sales_status"]
                if status == 4:
                    self._touch(case, 10)
                    acted.append(key)
                elif status in (2, 3) and case.get("expire_time") and case["expire_time"] <= now:
                    goods_expected = status == 3 and not case["express_no"]
                    case["refund_operator_role"] = 4  # 系统
                    self._touch(case, 7 if goods_expected else 10)
                    acted.append(key)
        return acted

    # -- the router ---------------------------------------------------------------------------------------
    def handle(self, params: dict[str, str]) -> dict[str, Any]:
        api = params.get("type", "")
        with self._lock:
            self.calls.append(api)

            def error(code: int, msg: str, sub_msg: str = "") -> dict[str, Any]:
                self.errors.append(str(code))
                return {
                    "error_response": {
                        "error_code": code,
                        "error_msg": msg,
                        "sub_code": "",
                        "sub_msg": sub_msg,
                        "request_id": f"sim-{time.time_ns()}",
                    }
                }

            if self.rate_limit_next > 0:
                self.rate_limit_next -= 1
                self.errors.append("70031")
                return fixture("error_rate_limited")
            if params.get("client_id") != self.client_id:
                return error(10016, "client_id不存在")
            if params.get("sign") != pdd_sign(params, self.secret):
                return error(20004, "签名验证失败")
            if api == "pdd.pop.auth.token.refresh":
                return self._token_refresh(params, error)
            if params.get("access_token") != self.access_token:
                return error(10019, "access_token已过期")
            if params.get("data_type", "JSON") != "JSON":
                return error(10000, "参数错误", "data_type")
            try:
                sent = int(params.get("timestamp", ""))
            except ValueError:
                return error(20005, "时间戳格式错误")
            if abs(sent - time.time()) > 600:
                return error(20005, "时间戳已过期")
            handler = {
                "pdd.refund.list.increment.get": self._list,
                "pdd.refund.information.get": self._information,
                "pdd.refund.agree": self._agree,
                "pdd.refund.returngoods.agree": self._returngoods_agree,
                "pdd.refund.address.list.get": self._addresses,
                "pdd.logistics.companies.get": self._companies,
                "pdd.refund.exchange.shipping": self._exchange_shipping,
            }.get(api)
            if handler is None:
                return error(10014, "接口不存在", api)
            return handler(params, error)

    def _token_refresh(self, params: dict[str, str], error: Any) -> dict[str, Any]:
        """A new access token (the old one stops working) and a new refresh token."""
        if params.get("refresh_token") != self.refresh_token:
            return error(10000, "参数错误", "refresh_token 无效")
        self.refreshes += 1
        self.access_token = f"sim-pdd-token-refreshed-{self.refreshes}"
        self.refresh_token = f"sim-pdd-refresh-{self.refreshes + 1}"
        expires_at = int(time.time()) + 86400
        return {
            "pop_auth_token_refresh_response": {
                "access_token": self.access_token,
                "expires_at": expires_at,
                "expires_in": 86400,
                "refresh_token": self.refresh_token,
                "refresh_token_expires_at": expires_at + 86400 * 30,
                "owner_id": self.mall_id,
                "scope": ["pdd.refund.list.increment.get"],
            }
        }

    def _list(self, params: dict[str, str], error: Any) -> dict[str, Any]:
        required = ("after_sales_status", "after_sales_type", "start_updated_at", "end_updated_at")
        missing = [name for name in required if not params.get(name)]
        if missing:
            return error(10000, "参数错误", f"缺少必填参数 {','.join(missing)}")
        start, end = int(params["start_updated_at"]), int(params["end_updated_at"])
        if end < start or end - start > 1800:
            return error(10000, "参数错误", "开始时间结束时间间距不超过30分钟")
        page, size = int(params.get("page", "1")), int(params.get("page_size", "100"))
        if page < 1 or not 1 <= size <= 100:
            return error(10000, "参数错误", "page/page_size")
        status, kind = int(params["after_sales_status"]), int(params["after_sales_type"])

        def updated(case: dict[str, Any]) -> int:
            return int(datetime.strptime(case["updated_time"], FORMAT).replace(tzinfo=BEIJING).timestamp())

        matching = sorted(
            (
                c
                for c in self.cases.values()
                if start <= updated(c) <= end
                and (status == 1 or c["after_sales_status"] == status)
                and (kind == 1 or int(c["after_sales_type"]) + 1 == kind)
            ),
            key=lambda c: (updated(c), c["id"]),
        )
        chunk = matching[(page - 1) * size : page * size]
        return {
            "refund_increment_get_response": {
                "total_count": len(matching),
                "refund_list": [self.row(str(c["id"])) for c in chunk],
            }
        }

    def _find(self, after_sales_id: Any, order_sn: Any, error: Any) -> dict[str, Any]:
        case = self.cases.get(str(after_sales_id))
        if case is None or case["order_sn"] != order_sn or str(after_sales_id) in self.detail_missing:
            return error(50001, "业务服务错误", "售后单不存在")
        return case

    def _information(self, params: dict[str, str], error: Any) -> dict[str, Any]:
        if not params.get("after_sales_id") or not params.get("order_sn"):
            return error(10000, "参数错误", "after_sales_id/order_sn 必填")
        case = self._find(params["after_sales_id"], params["order_sn"], error)
        if "error_response" in case:
            return case
        return self.detail(str(case["id"]))  # the fields at the top, as the SDKs read them

    def _request(self, params: dict[str, str], error: Any) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        try:
            request = json.loads(params.get("request", ""))
        except ValueError:
            return None, error(10000, "参数错误", "request 须为JSON")
        case = self._find(request.get("after_sales_id"), request.get("order_sn"), error)
        return request, case

    def _result(self, request: dict[str, Any], succ: bool, message: str) -> dict[str, Any]:
        if not succ:
            self.errors.append("refused")
        result = {"after_sales_id": request["after_sales_id"], "order_sn": request["order_sn"]}
        return {"response": {"result": {**result, "succ": succ, "message": message}}}

    def _agree(self, params: dict[str, str], error: Any) -> dict[str, Any]:
        request, case = self._request(params, error)
        if request is None or "error_response" in case:
            return case
        status = case["after_sales_status"]
        if not (status == 2 or (status == 3 and case["express_no"])):
            return self._result(request, False, "当前售后单状态不允许同意退款")
        case["refund_operator_role"] = 2  # 商家
        self._touch(case, 4)
        self.writes.append(("pdd.refund.agree", request))
        return self._result(request, True, "退款操作成功")

    def _returngoods_agree(self, params: dict[str, str], error: Any) -> dict[str, Any]:
        request, case = self._request(params, error)
        if request is None or "error_response" in case:
            return case
        if not request.get("return_address_id"):
            return error(10000, "参数错误", "return_address_id 不能为空")
        if str(request["return_address_id"]) not in {str(a["refund_address_id"]) for a in self.addresses}:
            return self._result(request, False, "退货地址不存在，请在退货地址库中选择")
        if case["after_sales_status"] != 3 or case["express_no"]:
            return self._result(request, False, "当前售后单状态不允许同意退货")
        self._touch(case, 7)
        self.writes.append(("pdd.refund.returngoods.agree", request))
        return self._result(request, True, "操作成功")

    def _companies(self, params: dict[str, str], error: Any) -> dict[str, Any]:
        companies = [(115, "中通快递", "ZTO"), (85, "顺丰快递", "SF"), (3, "申通快递", "STO")]  # ids made up
        rows = [{"id": i, "logistics_company": name, "code": code, "available": 1} for i, name, code in companies]
        return {"logistics_companies_get_response": {"logistics_companies": rows}}

    def _exchange_shipping(self, params: dict[str, str], error: Any) -> dict[str, Any]:
        """The replacement's waybill. Accepted for an exchange (type 3) while the merchant must act (14): this
        simulator's assumption, PLATFORMS.md does not say which statuses allow it."""
        request, case = self._request(params, error)
        if request is None or "error_response" in case:
            return case
        if not request.get("tracking_number") or not isinstance(request.get("shipping_id"), int):
            return error(10000, "参数错误", "shipping_id/tracking_number")
        if int(case["after_sales_type"]) != 3 or case["after_sales_status"] != 14:
            return self._result(request, False, "当前售后单状态不允许换货发货")
        self._touch(case, 18)
        self.writes.append(("pdd.refund.exchange.shipping", request))
        return self._result(request, True, "操作成功")

    def _addresses(self, params: dict[str, str], error: Any) -> dict[str, Any]:
        rows = [{**a, "mall_id": int(self.mall_id)} for a in self.addresses]
        return {"refund_address_list_get_response": {"refund_address_list": rows}}


class PddHandler(SimulatorHandler):
    simulator: PddSimulator

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        params = dict(urllib.parse.parse_qsl(self.read_body().decode(), keep_blank_values=True))
        self.simulator.take_stall()
        self.reply(200, self.simulator.handle(params))


@contextmanager
def pdd_running(*, port: int = 0, **behaviour: Any) -> Iterator[PddSimulator]:
    """The simulator on 127.0.0.1 in a thread (its router at ``url``; ``port`` 0: any free one); ``behaviour``
    sets its fields."""
    with running(PddSimulator(**behaviour), PddHandler, path="/api/router", port=port) as simulator:
        yield simulator
