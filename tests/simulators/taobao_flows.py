"""The Taobao simulator's 协商, 小二介入 and exchange parts (a mixin of ``TaobaoSimulator``).

- ``taobao.refund.negotiatereturn``: the merchant's counter-offer (a return and a refund of ``refund_fee`` fen to
  ``address_id``) on a request waiting for it, with its version; the refund keeps its status (TOP shows no
  协商 status) while the buyer considers it: ``buyer_accepts_offer`` turns it into a return of the offered
  amount (WAIT_BUYER_RETURN_GOODS), ``buyer_declines_offer`` leaves the request as it was.
- 小二: ``intervene`` (cs_status 10 举证中, an evidence deadline in ``refund_remind_timeout``), evidence by
  ``taobao.refund.message.add`` (multipart with one ``image``, ``content`` ≤ 400 bytes; the signature covers
  the other fields only) moves it to cs_status 3 (intervened, the deadline gone), ``ask_for_evidence`` again,
  and ``rule`` (8 buyer wins: refunded with the amount 小二 decided; 9 seller wins: closed).
- ``tmall.exchange.consigngoods``: the replacement's parcel, on an exchange waiting for it (``exchanges``,
  seeded by ``create_exchange``; TOP's exchange status words are unconfirmed and the simulator's own).
"""

from __future__ import annotations

import copy
from datetime import timedelta
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

FORMAT = "%Y-%m-%d %H:%M:%S"
EXCHANGE_WAITING = "待卖家发货"
EXCHANGE_SHIPPED = "待买家收货"


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

    def create_exchange(self, dispute_id: str, *, status: str = EXCHANGE_WAITING) -> None:
        with self._lock:
            self.exchanges[dispute_id] = {"dispute_id": dispute_id, "status": status, "modified": self.now()}

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

    def _exchange_consign(self, params: dict[str, str], error: Any) -> dict[str, Any]:
        exchange = self.exchanges.get(params.get("dispute_id", ""))
        if exchange is None:
            return error(15, "Remote service error", "isv.exchange-not-exist", "换货单不存在")
        if not params.get("logistics_no") or not params.get("logistics_company_name"):
            return error(40, "Missing required arguments", "isv.missing-parameter", "logistics_no")
        if exchange["status"] != EXCHANGE_WAITING:
            return error(15, "Remote service error", "isv.exchange-status-error", "当前换货单状态不允许发货")
        exchange.update(status=EXCHANGE_SHIPPED, logistics_no=params["logistics_no"], modified=self.now())
        self.writes.append(("tmall.exchange.consigngoods", dict(params)))
        result = {"success": True, "dispute_id": exchange["dispute_id"], "status": EXCHANGE_SHIPPED}
        return {"tmall_exchange_consigngoods_response": {"result": result}}
