"""The Douyin simulator's ``/afterSale/operate``: one call, several items, all or nothing; each operate type
accepted only in the status and for the after-sales type it belongs to, on the case's current ``update_time``.

A mixin of :class:`tests.simulators.douyin.DouyinSimulator`.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.simulators.base import load_fixture

REFUND_ONLY = {1, 2}  # aftersale_type 1 已发货仅退款, 2 未发货仅退款


class DouyinOperate:
    """Needs the simulator's ``cases``, ``address_ids``, ``reject_reason_codes``, ``writes``, ``_touch`` and ``ok``."""

    cases: dict[str, dict[str, Any]]
    address_ids: set[int]
    reject_reason_codes: set[int]
    writes: list[dict[str, Any]]
    _touch: Any
    ok: Any

    def _operate(self, business: dict[str, Any], error: Any) -> dict[str, Any]:
        kind = business.get("type")
        items = business.get("items") or []
        if not 1 <= len(items) <= 20:
            return error(40004, "参数不合法", "isv.parameter-invalid", "items 1-20 条")
        # All or nothing: every item is checked before any is applied.
        plans = []
        for item in items:
            case = self.cases.get(str(item.get("aftersale_id", "")))
            if case is None:
                return error(50002, "业务处理失败", "isv.business-failed:20309000", "售后单不存在")
            info = case["aftersale_info"]
            if item.get("update_time") != info["update_time"]:
                return fixture_error(self, "error_status_changed")
            status, aftersale_type = int(info["aftersale_status"]), int(info["aftersale_type"])
            address = (item.get("logistics") or {}).get("receiver_address_id")
            if kind in (101, 301):
                if status != 6 or aftersale_type != (0 if kind == 101 else 3):
                    return fixture_error(self, "error_status_changed")
                if address not in self.address_ids:
                    return error(50002, "业务处理失败", "isv.business-failed:20309542", "退货地址不存在")
                plans.append((case, 7, 7 * 86400))
            elif kind == 201:
                if status != 6 or aftersale_type not in REFUND_ONLY:
                    return fixture_error(self, "error_status_changed")
                plans.append((case, 12, None))
            elif kind == 202:
                if status != 6 or aftersale_type not in REFUND_ONLY:
                    return fixture_error(self, "error_status_changed")
                if item.get("reject_reason_code") not in self.reject_reason_codes:
                    return error(40004, "参数不合法", "isv.parameter-invalid", "reject_reason_code 无效")
                plans.append((case, 27, 3 * 86400))
            elif kind == 311:
                if status != 8 or aftersale_type != 3:
                    return fixture_error(self, "error_status_changed")
                if not (item.get("logistics") or {}).get("logistics_code"):
                    return error(40004, "参数不合法", "isv.parameter-invalid", "换货发货须填写物流单号")
                plans.append((case, 13, 7 * 86400))
            else:
                return error(40004, "参数不合法", "isv.parameter-invalid", f"不支持的操作类型 {kind}")
        for case, status, deadline in plans:
            if status == 12:
                case["aftersale_info"]["real_refund_amount"] = case["aftersale_info"]["refund_amount"]
            self._touch(case, status, deadline=deadline)
        self.writes.append(copy.deepcopy(business))
        return self.ok({"items": [{"aftersale_id": str(i["aftersale_id"]), "status_code": 0} for i in items]})


def fixture_error(simulator: Any, name: str) -> dict[str, Any]:
    answer = load_fixture("douyin", name)
    simulator.errors.append(answer["sub_code"])
    return answer
