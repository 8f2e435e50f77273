"""The Taobao simulator's 协商, 小二介入 and exchange parts (a mixin of ``TaobaoSimulator``).

- ``taobao.refund.negotiatereturn``: the merchant's counter-offer (a return and a refund of ``refund_fee`` fen to
  ``address_id``) on a request waiting for it, with its version; the refund keeps its status (TOP shows no
  协商 status) while the buyer considers it: ``buyer_accepts_offer`` turns it into a return of the offered
  amount (WAIT_BUYER_RETURN_GOODS), ``buyer_declines_offer`` leaves the request as it was.
- 小二: ``intervene`` (cs_status 10 举证中, an evidence deadline in ``refund_remind_timeout``), evidence by
  ``taobao.refund.message.add`` (multipart with one ``image``, ``content`` ≤ 400 bytes; the signature covers
  the other fields only) moves it to cs_status 3 (intervened, the deadline gone), ``ask_for_evidence`` again,
  and ``rule`` (8 buyer wins: refunded with the amount 小二 decided; 9 seller wins: closed).
- Tmall exchanges (``exchanges``, seeded by ``create_exchange``): ``tmall.exchange.get`` / ``receive.get`` (by
  modified window, ``has_next``), ``agree`` (with a known ``address_id``), ``refuse``, ``returngoods.agree`` (the
  goods back), ``consigngoods`` (the new parcel), each in its status only; the buyer's return and receipt.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

FORMAT = "%Y-%m-%d %H:%M:%S"
# tmall.exchange.* status words (the SDK lists them with codes 1–6, 12–14; the answer's form is unconfirmed).
EXCHANGE_REQUESTED = "换货待处理"
EXCHANGE_AWAITING_RETURN = "待买家退货"
EXCHANGE_RETURNED = "买家已退货，待收货"
EXCHANGE_WAITING = "待发出换货商品"
EXCHANGE_SHIPPED = "待买家收货"
EXCHANGE_DONE = "换货成功"


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    """A multipart/form-data body → (fields, files: name → (file name, bytes, content type))."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[str(name)] = (filename, payload, part.get_content_type())
        else:
            fields[str(name)] = payload.decode()
    return fields, files


class TaobaoFlows:
    """Needs the simulator's ``refunds``, ``writes``, ``address_ids``, ``_lock``, ``now``, ``_touch`` and
    ``_version_error``."""

    refunds: dict[str, dict[str, Any]]
    writes: list[tuple[str, dict[str, str]]]
    address_ids: set[str]
    offers: dict[str, dict[str, Any]]
    evidence: list[dict[str, Any]]
    exchanges: dict[str, dict[str, Any]]
    seller_nick: str
    request_files: dict[str, tuple[str, bytes, str]]
    _lock: Any
    now: Any
    _touch: Any
    _version_error: Any

    def flow_handlers(self) -> dict[str, Any]:
        return {
            "taobao.refund.negotiatereturn": self._negotiatereturn,
            "taobao.refund.message.add": self._message_add,
            "tmall.exchange.consigngoods": self._exchange_consign,
            "tmall.exchange.get": self._exchange_get,
            "tmall.exchange.receive.get": self._exchange_receive_get,
            "tmall.exchange.agree": self._exchange_agree,
            "tmall.exchange.refuse": self._exchange_refuse,
            "tmall.exchange.returngoods.agree": self._exchange_returngoods_agree,
        }

    # -- the buyer and 小二 ----------------------------------------------------------------------------------
    def buyer_accepts_offer(self, refund_id: str) -> None:
        with self._lock:
            offer = self.offers.pop(refund_id)
            refund = self.refunds[refund_id]
            refund["refund_fee"] = f"{offer['fee'] / 100:.2f}"
            refund["has_good_return"] = True
            refund["refund_remind_timeout"] = {"exist_timeout": False}
            self._touch(refund, "WAIT_BUYER_RETURN_GOODS")

    def buyer_declines_offer(self, refund_id: str) -> None:
        with self._lock:
            self.offers.pop(refund_id)
            self._touch(self.refunds[refund_id])

    def intervene(self, refund_id: str, *, evidence_hours: float = 24) -> None:
        """小二 takes the case over and waits for the merchant's evidence (举证中) until the deadline."""
        with self._lock:
            refund = self.refunds[refund_id]
            refund["cs_status"] = 10
            refund["refund_remind_timeout"] = {
                "exist_timeout": True,
                "timeout": (self.now() + timedelta(hours=evidence_hours)).strftime(FORMAT),
                "remind_type": 10,
            }
            self._touch(refund)

    def ask_for_evidence(self, refund_id: str, *, evidence_hours: float = 24) -> None:
        self.intervene(refund_id, evidence_hours=evidence_hours)

    def rule(self, refund_id: str, *, buyer_wins: bool, refund_fee: str | None = None) -> None:
        """小二's ruling: for the buyer (refunded, ``refund_fee`` yuan if 小二 decided another amount) or for
        the seller (closed)."""
        with self._lock:
            refund = self.refunds[refund_id]
            refund["refund_remind_timeout"] = {"exist_timeout": False}
            if buyer_wins:
                refund["cs_status"] = 8
                if refund_fee is not None:
                    refund["refund_fee"] = refund_fee
                self._touch(refund, "SUCCESS")
            else:
                refund["cs_status"] = 9
                self._touch(refund, "CLOSED")

    def create_exchange(
        self, dispute_id: str, *, status: str = EXCHANGE_REQUESTED, deadline_hours: float = 48
    ) -> dict[str, Any]:
        """A buyer asks for an exchange (shaped after tmall.exchange.get's Exchange; ids made up)."""
        with self._lock:
            stamp = self.now().strftime(FORMAT)
            exchange = {
                "dispute_id": dispute_id,
                "bizorder_id": f"39{dispute_id}",
                "status": status,
                "created": stamp,
                "modified": stamp,
                "refund_version": int(self.now().timestamp() * 1000),
                "seller_nick": self.seller_nick,
                "buyer_nick": "t**3",
                "title": "修身牛仔裤 蓝色 30",
                "num": 1,
                "bought_sku": "JEANS-BLUE-30",
                "exchange_sku": "JEANS-BLUE-31",
                "payment": "89.90",
                "reason": "尺码拍错",
                "cs_status": 1,
                "time_out": (self.now() + timedelta(hours=deadline_hours)).strftime(FORMAT),
            }
            self.exchanges[dispute_id] = exchange
            return copy.deepcopy(exchange)

    def _exchange_touch(self, exchange: dict[str, Any], status: str, *, deadline_hours: float | None = None) -> None:
        exchange["status"] = status
        exchange["modified"] = self.now().strftime(FORMAT)
        exchange["refund_version"] = max(int(exchange["refund_version"]) + 1, int(self.now().timestamp() * 1000))
        exchange["time_out"] = (
            (self.now() + timedelta(hours=deadline_hours)).strftime(FORMAT) if deadline_hours is not None else ""
        )

    def buyer_returns_exchange(
        self, dispute_id: str, *, company: str = "中通快递", waybill: str = "ZT8800112233"
    ) -> None:
        with self._lock:
            exchange = self.exchanges[dispute_id]
            assert exchange["status"] == EXCHANGE_AWAITING_RETURN, exchange["status"]
            exchange["buyer_logistic_name"], exchange["buyer_logistic_no"] = company, waybill
            self._exchange_touch(exchange, EXCHANGE_RETURNED, deadline_hours=240)

    def buyer_receives_exchange(self, dispute_id: str) -> None:
        with self._lock:
            exchange = self.exchanges[dispute_id]
            assert exchange["status"] == EXCHANGE_SHIPPED, exchange["status"]
            self._exchange_touch(exchange, EXCHANGE_DONE)

    def exchange_message(self, dispute_id: str, topic: str) -> dict[str, Any]:
        """A TMC-shaped message about an exchange: the refund topics with ``bill_type=replace_bill``."""
        exchange = self.exchanges[dispute_id]
        content = {"refund_id": dispute_id, "tid": exchange["bizorder_id"], "bill_type": "replace_bill"}
        content["modified"] = exchange["modified"]
        return {
            "id": f"x{dispute_id}-{exchange['refund_version']}-{topic}",
            "topic": f"taobao_refund_{topic}",
            "pub_time": self.now().strftime(FORMAT),
            "user_nick": self.seller_nick,
            "content": json.dumps(content, ensure_ascii=False),
        }

    # -- the router's methods ---------------------------------------------------------------------------------
    def _negotiatereturn(self, params: dict[str, str], error: Any) -> dict[str, Any]:
        refund = self.refunds.get(params.get("refund_id", ""))
        if refund is None:
            return error(15, "Remote service error", "isv.refund-not-exist", "退款单不存在")
        missing = [name for name in ("refund_version", "refund_fee", "address_id") if not params.get(name)]
        if missing:
            return error(40, "Missing required arguments", "isv.missing-parameter", ",".join(missing))
        refused = self._version_error(refund, params["refund_version"], error)
        if refused:
            return refused
        if refund["status"] != "WAIT_SELLER_AGREE" or refund["refund_id"] in self.offers:
            return error(15, "Remote service error", "isv.refund-status-error", "当前退款状态不允许协商")
        if params["address_id"] not in self.address_ids:
            return error(15, "Remote service error", "isv.invalid-address", "退货地址不存在")
        fee = int(params["refund_fee"])
        if not 0 < fee <= round(float(refund["refund_fee"]) * 100):
            return error(15, "Remote service error", "isv.invalid-refund-fee", "协商金额须大于0且不超过申请金额")
        self.offers[refund["refund_id"]] = {"fee": fee, "address_id": params["address_id"]}
        self._touch(refund)
        self.writes.append(("taobao.refund.negotiatereturn", dict(params)))
        return {"refund_negotiatereturn_response": {"request_id": "sim"}}

    def _message_add(self, params: dict[str, str], error: Any) -> dict[str, Any]:
        refund = self.refunds.get(params.get("refund_id", ""))
        if refund is None:
            return error(15, "Remote service error", "isv.refund-not-exist", "退款单不存在")
        content = params.get("content", "")
        if not content or len(content.encode()) > 400:
            return error(40, "Invalid arguments", "isv.invalid-parameter", "content 须为1-400字节")
        image = self.request_files["image"][1] if "image" in self.request_files else None
        if image is not None and len(image) > 500 * 1024:
            return error(40, "Invalid arguments", "isv.invalid-parameter", "image 最大500K")
        self.evidence.append({"refund_id": refund["refund_id"], "content": content, "image": image})
        if str(refund.get("cs_status")) == "10":  # the evidence 小二 waited for
            refund["cs_status"] = 3
            refund["refund_remind_timeout"] = {"exist_timeout": False}
        self._touch(refund)
        self.writes.append(("taobao.refund.message.add", dict(params)))
        message = {"id": len(self.evidence), "content": content, "refund_id": refund["refund_id"]}
        return {"refund_message_add_response": {"refund_message": copy.deepcopy(message)}}

    def _exchange(self, params: dict[str, str], error: Any, *, status: str) -> dict[str, Any]:
        """The exchange a write names, or the error TOP answers (unknown, or not in ``status``)."""
        exchange = self.exchanges.get(params.get("dispute_id", ""))
        if exchange is None:
            return error(15, "Remote service error", "isv.exchange-not-exist", "换货单不存在")
        if exchange["status"] != status:
            return error(15, "Remote service error", "isv.exchange-status-error", "当前换货单状态不允许该操作")
        return exchange

    def _exchange_answer(self, method: str, params: dict[str, str], exchange: dict[str, Any]) -> dict[str, Any]:
        self.writes.append((method, dict(params)))
        result = {"success": True, "exchange": {k: exchange[k] for k in ("dispute_id", "status", "modified")}}
        return {method.replace(".", "_") + "_response": {"result": result}}

    def _exchange_get(self, params: dict[str, str], error: Any) -> dict[str, Any]:
        exchange = self.exchanges.get(params.get("dispute_id", ""))
        if exchange is None:
            return error(15, "Remote service error", "isv.exchange-not-exist", "换货单不存在")
        return {"tmall_exchange_get_response": {"result": {"success": True, "exchange": copy.deepcopy(exchange)}}}

    def _exchange_receive_get(self, params: dict[str, str], error: Any) -> dict[str, Any]:
        start, end = params.get("start_gmt_modified_time", ""), params.get("end_gmt_modifed_time", "")
        page, size = int(params.get("page_no", "1")), int(params.get("page_size", "20"))
        rows = sorted(
            (
                x
                for x in self.exchanges.values()
                if (not start or x["modified"] >= start) and (not end or x["modified"] <= end)
            ),
            key=lambda x: (x["modified"], x["dispute_id"]),
        )
        chunk = rows[(page - 1) * size : page * size]
        answer = {
            "results": {"exchange": copy.deepcopy(chunk)},
            "page_results": len(chunk),
            "total_results": len(rows),
            "has_next": page * size < len(rows),
        }
        return {"tmall_exchange_receive_get_response": answer}

    def _exchange_agree(self, params: dict[str, str], error: Any) -> dict[str, Any]:
        exchange = self._exchange(params, error, status=EXCHANGE_REQUESTED)
        if "error_response" in exchange:
            return exchange
        if params.get("address_id") not in self.address_ids:
            return error(15, "Remote service error", "isv.invalid-address", "退货地址不存在")
        self._exchange_touch(exchange, EXCHANGE_AWAITING_RETURN)
        return self._exchange_answer("tmall.exchange.agree", params, exchange)

    def _exchange_refuse(self, params: dict[str, str], error: Any) -> dict[str, Any]:
        exchange = self._exchange(params, error, status=EXCHANGE_REQUESTED)
        if "error_response" in exchange:
            return exchange
        if not params.get("leave_message"):
            return error(40, "Missing required arguments", "isv.missing-parameter", "leave_message")
        self._exchange_touch(exchange, "待买家修改")
        return self._exchange_answer("tmall.exchange.refuse", params, exchange)

    def _exchange_returngoods_agree(self, params: dict[str, str], error: Any) -> dict[str, Any]:
        exchange = self._exchange(params, error, status=EXCHANGE_RETURNED)
        if "error_response" in exchange:
            return exchange
        self._exchange_touch(exchange, EXCHANGE_WAITING, deadline_hours=48)
        return self._exchange_answer("tmall.exchange.returngoods.agree", params, exchange)

    def _exchange_consign(self, params: dict[str, str], error: Any) -> dict[str, Any]:
        if not params.get("logistics_no") or not params.get("logistics_company_name"):
            return error(40, "Missing required arguments", "isv.missing-parameter", "logistics_no")
        exchange = self._exchange(params, error, status=EXCHANGE_WAITING)
        if "error_response" in exchange:
            return exchange
        exchange["seller_logistic_no"] = params["logistics_no"]
        exchange["seller_logistic_name"] = params["logistics_company_name"]
        self._exchange_touch(exchange, EXCHANGE_SHIPPED)
        return self._exchange_answer("tmall.exchange.consigngoods", params, exchange)
