"""A local JD open platform (JOS) router for the tests: ``routerjson`` form posts, after-sales service orders (ASC).

It checks requests independently of kefu's connector: app key, access token, ``v=2.0``, the timestamp (Beijing
time, ±10 minutes), the signature (MD5(secret + sorted key/values + secret), upper hex, the TOP-style scheme public
JOS clients use) and ``360buy_param_json`` (JSON, with ``buId`` the shop's id). It keeps service orders in their
statuses with ``updateTime``, pages ``jingdong.asc.serviceAndRefund.view`` by update window with
``totalCount``, answers ``jingdong.asc.apply.view``, ``jingdong.asc.receive.register`` and
``jingdong.asc.process.close`` in the right statuses only, can answer a frequency limit or stall, and agrees a
service order left in review past its deadline on its own clock (``advance``; JD's real durations are unknown).

Much of JD's ASC answer format is unconfirmed (docs/platforms.md): the shapes here (``<method>_responce`` with
``result``/``pageResult`` {``success``, ``errorCode``, ``errorMsg``, ``data``}) are kefu's best reading.
"""

from __future__ import annotations

import copy
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
    running,
    top_md5_sign,
)

APP_KEY = "JD0123456789ABCDEF"
APP_SECRET = "sim-jd-secret-0123456789abcdef"  # noqa: S105 - a test value
ACCESS_TOKEN = "sim-jd-token-0001"  # noqa: S105 - a test value
VENDER_ID = "10088001"
IN_REVIEW = {10, 21, 22}


def fixture(name: str) -> dict[str, Any]:
    return load_fixture("jd", name)


jos_sign = top_md5_sign  # MD5(secret + sorted key/values + secret), upper hex: the TOP-style scheme


@dataclass
class JdSimulator(SimulatedPlatform):
    app_key: str = APP_KEY
    secret: str = APP_SECRET
    access_token: str = ACCESS_TOKEN
    vender_id: str = VENDER_ID
    page_size_max: int = 50
    rate_limit_next: int = 0
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    deadlines: dict[str, datetime] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    writes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def _touch(self, service: dict[str, Any], status: int) -> None:
        service["serviceStatus"] = status
        stamp = self.now().strftime(FORMAT)
        # Updates within one second still move forward (JD's own ordering is unknown).
        service["updateTime"] = max(stamp, _next_second(service["updateTime"]))
        if status not in IN_REVIEW:
            self.deadlines.pop(str(service["serviceId"]), None)

    def create(self, name: str = "return", *, review_hours: float = 48, **changes: Any) -> dict[str, Any]:
        with self._lock:
            service = fixture(name)
            n = next(self._ids)
            service["serviceId"] += n
            service["orderId"] += n
            service["applyTime"] = service["updateTime"] = self.now().strftime(FORMAT)
            service.update(changes)
            self.services[str(service["serviceId"])] = service
            self.deadlines[str(service["serviceId"])] = self.now() + timedelta(hours=review_hours)
            return copy.deepcopy(service)

    def get(self, service_id: str | int) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.services[str(service_id)])

    def merchant_approves_in_back_office(self, service_id: str | int) -> None:
        with self._lock:
            self._touch(self.services[str(service_id)], 32)

    def buyer_returns(self, service_id: str | int, *, company: str = "京东快递", code: str = "JDV000111222") -> None:
        with self._lock:
            service = self.services[str(service_id)]
            assert service["serviceStatus"] in (31, 32), service["serviceStatus"]
            service["expressCompany"], service["expressCode"] = company, code
            self._touch(service, service["serviceStatus"])

    def buyer_cancels(self, service_id: str | int) -> None:
        with self._lock:
            self._touch(self.services[str(service_id)], 60)

    def advance(self, delta: timedelta) -> list[str]:
        """Move the clock; a service order left in review past its deadline is agreed by JD (awaiting goods)."""
        acted = []
        with self._lock:
            self.offset += delta
            for service_id, due in list(self.deadlines.items()):
                service = self.services[service_id]
                if due <= self.now() and service["serviceStatus"] in IN_REVIEW:
                    self._touch(service, 32)
                    acted.append(service_id)
        return acted

    # -- the router ---------------------------------------------------------------------------------------
    def handle(self, params: dict[str, str]) -> dict[str, Any]:
        method = params.get("method", "")
        with self._lock:
            self.calls.append(method)

            def error(code: str, zh: str, en: str) -> dict[str, Any]:
                self.errors.append(code)
                return {"error_response": {"code": code, "zh_desc": zh, "en_desc": en}}

            if self.rate_limit_next > 0:
                self.rate_limit_next -= 1
                self.errors.append("67")
                return fixture("error_call_limited")
            if params.get("app_key") != self.app_key:
                return error("15", "无效的app_key", "invalid app_key")
            if params.get("sign") != jos_sign(params, self.secret):
                return error("12", "无效签名", "invalid signature")
            if params.get("access_token") != self.access_token:
                return error("19", "access_token已过期或不存在", "invalid access_token")
            if params.get("v") != "2.0":
                return error("20", "版本号错误", "invalid version")
            try:
                sent = datetime.strptime(params.get("timestamp", ""), FORMAT).replace(tzinfo=BEIJING)
            except ValueError:
                return error("21", "时间戳错误", "invalid timestamp")
            if abs((sent - datetime.now(BEIJING)).total_seconds()) > 600:
                return error("21", "时间戳错误", "invalid timestamp")
            try:
                body = json.loads(params.get("360buy_param_json", "{}"))
            except ValueError:
                return error("22", "360buy_param_json 格式错误", "invalid 360buy_param_json")
            if str(body.get("buId", "")) != self.vender_id:
                return error("23", "buId 与授权店铺不符", "buId mismatch")
            handler = {
                "jingdong.asc.serviceAndRefund.view": self._list,
                "jingdong.asc.apply.view": self._view,
                "jingdong.asc.receive.register": self._receive,
                "jingdong.asc.process.close": self._close,
            }.get(method)
            if handler is None:
                return error("11", "方法不存在", "invalid method")
            return {method.replace(".", "_") + "_responce": {"code": "0", **handler(body)}}

    @staticmethod
    def _refused(code: str, message: str) -> dict[str, Any]:
        return {"result": {"success": False, "errorCode": code, "errorMsg": message}}

    def _list(self, body: dict[str, Any]) -> dict[str, Any]:
        start, end = body.get("updateTimeBegin", ""), body.get("updateTimeEnd", "")
        page, size = int(body.get("pageNumber", 1)), int(body.get("pageSize", 10))
        if page < 1 or not 1 <= size <= self.page_size_max:
            return {"pageResult": {"success": False, "errorCode": "param", "errorMsg": "pageSize 超出范围"}}
        rows = sorted(
            (s for s in self.services.values() if start <= s["updateTime"] <= end),
            key=lambda s: (s["updateTime"], s["serviceId"]),
        )
        chunk = copy.deepcopy(rows[(page - 1) * size : page * size])
        return {
            "pageResult": {
                "success": True,
                "data": chunk,
                "pageNumber": page,
                "pageSize": size,
                "totalCount": len(rows),
            }
        }

    def _service(self, body: dict[str, Any]) -> dict[str, Any] | None:
        return self.services.get(str(body.get("serviceId", "")))

    def _view(self, body: dict[str, Any]) -> dict[str, Any]:
        service = self._service(body)
        if service is None:
            return self._refused("service_not_exist", "服务单不存在")
        return {"result": {"success": True, "data": copy.deepcopy(service)}}

    def _receive(self, body: dict[str, Any]) -> dict[str, Any]:
        service = self._service(body)
        if service is None:
            return self._refused("service_not_exist", "服务单不存在")
        if service["serviceStatus"] not in (31, 32):
            return self._refused("status_error", "当前服务单状态不允许收货登记")
        if str(body.get("orderId", "")) != str(service["orderId"]):
            return self._refused("param", "订单号与服务单不符")
        self._touch(service, 34)
        self.writes.append(("jingdong.asc.receive.register", dict(body)))
        return {"result": {"success": True}}

    def _close(self, body: dict[str, Any]) -> dict[str, Any]:
        service = self._service(body)
        if service is None:
            return self._refused("service_not_exist", "服务单不存在")
        if service["serviceStatus"] in (20, 50, 60):
            return self._refused("status_error", "服务单已完结，不能关闭")
        # Closing in review is a refusal (审核不通过); later it ends the service (取消).
        self._touch(service, 20 if service["serviceStatus"] in IN_REVIEW else 60)
        service["approveNotes"] = body.get("approveNotes", "")
        self.writes.append(("jingdong.asc.process.close", dict(body)))
        return {"result": {"success": True}}


def _next_second(stamp: str) -> str:
    return (datetime.strptime(stamp, FORMAT) + timedelta(seconds=1)).strftime(FORMAT)


class JdHandler(SimulatorHandler):
    simulator: JdSimulator

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        params = dict(urllib.parse.parse_qsl(self.read_body().decode(), keep_blank_values=True))
        self.simulator.take_stall()
        self.reply(200, self.simulator.handle(params))


@contextmanager
def jd_running(*, port: int = 0, **behaviour: Any) -> Iterator[JdSimulator]:
    """The simulator on 127.0.0.1 in a thread (its router at ``url``; ``port`` 0: any free one); ``behaviour``
    sets its fields."""
    with running(JdSimulator(**behaviour), JdHandler, path="/routerjson", port=port) as simulator:
        yield simulator
