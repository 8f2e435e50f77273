"""A local WeChat Pay APIv3 for the tests: a real HTTP server speaking its protocol (refunds, merchant transfers).

Computed here independently of kefu's gateway (no wechatpayv3): every request must carry the
``WECHATPAY2-SHA256-RSA2048`` Authorization (the merchant's RSA signature over ``method\\npath\\ntimestamp\\n
nonce\\nbody\\n``, checked with the merchant certificate's public key and serial); every answer is signed with
the platform private key over ``timestamp\\nnonce\\nbody\\n`` in the ``Wechatpay-*`` headers, its serial the
platform public key's id. Notifications carry the resource encrypted with AEAD_AES_256_GCM under the APIv3
key. Samples come from ``fixtures/wechatpay/`` (documented sample payloads).

What it keeps: the paid orders (``pay``), refunds by ``out_refund_no`` (created ``PROCESSING``; :meth:`finish`
makes them ``SUCCESS``/``ABNORMAL``/``CLOSED``), transfer batches by ``out_batch_no``, and a ``ledger`` of every
money movement. A repeated ``out_refund_no`` or ``out_batch_no`` answers the existing one: money moves once.
Modes: ``fail_next`` (error codes of ``errors.json``), ``lose_answer_next`` (done, then the answer stalls past
the client's deadline), ``stall_next``, ``rate_limit_next`` (429 FREQUENCY_LIMITED), ``instant`` (refunds
succeed at once).
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.simulators.base import FIXTURES, SimulatedPlatform, SimulatorHandler, load_fixture, post, running

MCH_ID = "1900000109"
APP_ID = "wxd678efh567hg6787"
MERCHANT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PLATFORM_KEY_ID = "PUB_KEY_ID_0119000001092026120700001"
APIV3_KEY = "sim0apiv3key0for0kefu0tests00032"  # 32 bytes: an AES-256 key
KEYS = FIXTURES / "wechatpay"
REFUNDS = "/v3/refund/domestic/refunds"
BATCHES = "/v3/transfer/batches"
AUTHORIZATION = re.compile(r'(\w+)="([^"]*)"')


def key_text(name: str) -> str:
    return (KEYS / f"{name}.pem").read_text()


def rsa_sign(text: str, private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(text: str, signature: str, public_pem: str) -> bool:
    key = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        key.verify(base64.b64decode(signature), text.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def signed_headers(body: bytes, private_pem: str, serial: str) -> dict[str, str]:
    """The ``Wechatpay-*`` headers of an answer or a notification with ``body``."""
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex
    signature = rsa_sign(f"{timestamp}\n{nonce}\n{body.decode()}\n", private_pem)
    return {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": signature,
        "Wechatpay-Serial": serial,
    }


def iso_now(simulator: SimulatedPlatform) -> str:
    return simulator.now().isoformat(timespec="seconds")


@dataclass
class WechatPaySimulator(SimulatedPlatform):
    mch_id: str = MCH_ID
    merchant_serial: str = MERCHANT_SERIAL
    merchant_public_key: str = field(default_factory=lambda: key_text("merchant_public_key"))
    platform_private_key: str = field(default_factory=lambda: key_text("platform_private_key"))
    platform_key_id: str = PLATFORM_KEY_ID
    apiv3_key: str = APIV3_KEY
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # out_trade_no -> the paid order (fen)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)  # out_refund_no -> the refund
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)  # out_batch_no -> the transfer batch
    ledger: list[tuple[str, str, int]] = field(default_factory=list)  # (kind, request number, fen)
    calls: list[str] = field(default_factory=list)
    fail_next: list[str] = field(default_factory=list)
    lose_answer_next: int = 0
    rate_limit_next: int = 0
    instant: bool = False

    def pay(self, out_trade_no: str, total: Decimal) -> dict[str, Any]:
        with self._lock:
            order = {
                "out_trade_no": out_trade_no,
                "transaction_id": f"42000{next(self._ids):023d}",
                "total": int(Decimal(total) * 100),
                "refunded": 0,
            }
            self.orders[out_trade_no] = order
            return order

    def paid_out(self, number: str) -> int:
        """Fen that left the merchant for the refund ``number`` or the transfer detail ``number``."""
        return sum(fen for _kind, key, fen in self.ledger if key == number)

    # -- the protocol ------------------------------------------------------------------------------------
    def answer(self, method: str, path: str, body: bytes, authorization: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.calls.append(f"{method} {path}")
            if not self._authorized(method, path, body, authorization):
                return self._error("SIGN_ERROR")
            if self.rate_limit_next > 0:
                self.rate_limit_next -= 1
                return self._error("FREQUENCY_LIMITED")
            data = json.loads(body or b"{}")
            if method == "POST" and path == REFUNDS:
                return self._refund(data)
            if method == "GET" and path.startswith(REFUNDS + "/"):
                refund = self.refunds.get(path.rsplit("/", 1)[1])
                return (200, self._refund_shown(refund)) if refund else self._error("RESOURCE_NOT_EXISTS")
            if method == "POST" and path == BATCHES:
                return self._batch(data)
            detail = re.fullmatch(BATCHES + r"/out-batch-no/([^/]+)/details/out-detail-no/([^/?]+)", path)
            if method == "GET" and detail:
                return self._detail(*detail.groups())
            return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "no such API"}

    def _authorized(self, method: str, path: str, body: bytes, authorization: str) -> bool:
        scheme, _space, rest = authorization.partition(" ")
        fields = dict(AUTHORIZATION.findall(rest))
        if scheme != "WECHATPAY2-SHA256-RSA2048" or fields.get("mchid") != self.mch_id:
            return False
        if fields.get("serial_no") != self.merchant_serial or abs(time.time() - int(fields.get("timestamp", 0))) > 300:
            return False
        text = f"{method}\n{path}\n{fields['timestamp']}\n{fields.get('nonce_str', '')}\n{body.decode()}\n"
        return rsa_verify(text, fields.get("signature", ""), self.merchant_public_key)

    def _error(self, code: str) -> tuple[int, dict[str, Any]]:
        status, message = load_fixture("wechatpay", "errors")[code]
        return status, {"code": code, "message": message}

    def _lose_answer(self) -> None:
        if self.lose_answer_next > 0:  # done, but the answer never reaches the client in time
            self.lose_answer_next -= 1
            self.stall_next += 1

    def _refund(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        number = data.get("out_refund_no", "")
        existing = self.refunds.get(number)
        if existing is not None:
            return 200, self._refund_shown(existing)
        order = self.orders.get(data.get("out_trade_no", ""))
        if order is None:
            return self._error("RESOURCE_NOT_EXISTS")
        if self.fail_next:
            return self._error(self.fail_next.pop(0))
        amount = data.get("amount") or {}
        fen, total = int(amount.get("refund", 0)), int(amount.get("total", 0))
        if total != order["total"] or fen <= 0 or amount.get("currency") != "CNY":
            return self._error("PARAM_ERROR")
        if order["refunded"] + fen > order["total"]:
            return self._error("INVALID_REQUEST")
        order["refunded"] += fen
        self.ledger.append(("refund", number, fen))
        refund = {
            "refund_id": f"5030{next(self._ids):025d}",
            "out_refund_no": number,
            "order": order,
            "fen": fen,
            "status": "SUCCESS" if self.instant else "PROCESSING",
            "create_time": iso_now(self),
            "success_time": iso_now(self) if self.instant else "",
            "notify_url": data.get("notify_url", ""),
        }
        self.refunds[number] = refund
        self._lose_answer()
        return 200, self._refund_shown(refund)

    def _refund_shown(self, refund: dict[str, Any]) -> dict[str, Any]:
        shown = load_fixture("wechatpay", "refund")
        order = refund["order"]
        shown.update(
            refund_id=refund["refund_id"],
            out_refund_no=refund["out_refund_no"],
            transaction_id=order["transaction_id"],
            out_trade_no=order["out_trade_no"],
            create_time=refund["create_time"],
            status=refund["status"],
        )
        shown["amount"].update(
            total=order["total"], refund=refund["fen"], payer_total=order["total"], payer_refund=refund["fen"]
        )
        shown["amount"].update(settlement_refund=refund["fen"], settlement_total=order["total"], discount_refund=0)
        if refund["success_time"]:
            shown["success_time"] = refund["success_time"]
        else:
            shown.pop("success_time")
        return shown

    def finish(self, out_refund_no: str, status: str = "SUCCESS") -> None:
        """WeChat Pay finishes a processing refund: ``SUCCESS``, ``ABNORMAL`` (the buyer's card refused it) or
        ``CLOSED``."""
        with self._lock:
            refund = self.refunds[out_refund_no]
            refund["status"] = status
            refund["success_time"] = iso_now(self) if status == "SUCCESS" else ""

    def _batch(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        number = data.get("out_batch_no", "")
        batch = self.batches.get(number)
        if batch is None:
            if self.fail_next:
                return self._error(self.fail_next.pop(0))
            details = data.get("transfer_detail_list") or []
            if data.get("total_num") != len(details) or data.get("total_amount") != sum(
                d["transfer_amount"] for d in details
            ):
                return self._error("PARAM_ERROR")
            batch = {"batch_id": f"1030{next(self._ids):036d}", "create_time": iso_now(self), "details": {}}
            for detail in details:
                self.ledger.append(("transfer", detail["out_detail_no"], int(detail["transfer_amount"])))
                batch["details"][detail["out_detail_no"]] = {**detail, "detail_id": f"1040{next(self._ids):036d}"}
            self.batches[number] = batch
            self._lose_answer()
        created = dict(load_fixture("wechatpay", "transfer_batch")["created"])
        created.update(out_batch_no=number, batch_id=batch["batch_id"], create_time=batch["create_time"])
        return 200, created

    def _detail(self, out_batch_no: str, out_detail_no: str) -> tuple[int, dict[str, Any]]:
        batch = self.batches.get(out_batch_no)
        detail = batch["details"].get(out_detail_no) if batch else None
        if detail is None:
            return self._error("RESOURCE_NOT_EXISTS")
        shown = dict(load_fixture("wechatpay", "transfer_batch")["detail"])
        shown.update(
            sp_mchid=self.mch_id,
            out_batch_no=out_batch_no,
            batch_id=batch["batch_id"] if batch else "",
            out_detail_no=out_detail_no,
            detail_id=detail["detail_id"],
            transfer_amount=detail["transfer_amount"],
            openid=detail.get("openid", ""),
            detail_status="SUCCESS",
        )
        return 200, shown

    # -- the asynchronous notification -----------------------------------------------------------------
    def notification(self, out_refund_no: str, *, apiv3_key: str | None = None) -> bytes:
        """The refund notification's body: the envelope with the refund's state encrypted (AEAD_AES_256_GCM)."""
        with self._lock:
            refund = self.refunds[out_refund_no]
            sample = load_fixture("wechatpay", "refund_notification")
            plain = sample.pop("plaintext")
            order = refund["order"]
            plain.update(
                mchid=self.mch_id,
                transaction_id=order["transaction_id"],
                out_trade_no=order["out_trade_no"],
                refund_id=refund["refund_id"],
                out_refund_no=out_refund_no,
                refund_status=refund["status"],
                success_time=refund["success_time"] or iso_now(self),
            )
            plain["amount"].update(total=order["total"], refund=refund["fen"])
            plain["amount"].update(payer_total=order["total"], payer_refund=refund["fen"])
            if refund["status"] != "SUCCESS":
                plain.pop("success_time")
            nonce = os.urandom(6).hex()  # 12 characters, as WeChat Pay's nonces are
            key = (apiv3_key or self.apiv3_key).encode()
            ciphertext = AESGCM(key).encrypt(nonce.encode(), json.dumps(plain).encode(), b"refund")
            sample["id"] = f"EV-{uuid.uuid4().hex[:24]}"
            sample["create_time"] = iso_now(self)
            sample["event_type"] = f"REFUND.{refund['status']}"
            sample["resource"].update(ciphertext=base64.b64encode(ciphertext).decode(), nonce=nonce)
            return json.dumps(sample, ensure_ascii=False).encode()

    def notify(self, url: str, body: bytes, *, signature: str | None = None) -> tuple[int, bytes]:
        """POST a notification to kefu, signed as WeChat Pay signs it (``signature`` replaces the real one)."""
        headers = signed_headers(body, self.platform_private_key, self.platform_key_id)
        if signature is not None:
            headers["Wechatpay-Signature"] = signature
        headers["Content-Type"] = "application/json"
        return post(url, body, headers)


class WechatPayHandler(SimulatorHandler):
    def _serve(self, method: str) -> None:
        simulator: WechatPaySimulator = self.simulator
        body = self.read_body() if method == "POST" else b""
        status, answer = simulator.answer(method, self.path, body, self.headers.get("Authorization", ""))
        simulator.take_stall()
        data = json.dumps(answer, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in signed_headers(data, simulator.platform_private_key, simulator.platform_key_id).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self._serve("POST")

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._serve("GET")


def serve(simulator: WechatPaySimulator | None = None, *, port: int = 0) -> Any:
    """``with serve() as wechatpay:`` a simulator on a free port; ``wechatpay.url`` is its API base."""
    return running(simulator or WechatPaySimulator(), WechatPayHandler, port=port)
