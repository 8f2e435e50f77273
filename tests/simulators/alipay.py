"""A local Alipay open platform gateway (``/gateway.do``) for the tests: a real HTTP server speaking its protocol.

Computed here independently of kefu's gateway (no python-alipay-sdk): a request is a form POST whose ``sign``
is RSA2 (SHA256withRSA, base64) over the sorted ``key=value`` pairs without ``sign`` (a notification: nor
``sign_type``), checked with the merchant's application public key; an answer is
``{"<method>_response": {...}, "sign": "..."}`` signed with Alipay's private key over the exact text of the
response node. Sample answers come from the fixtures in
``fixtures/alipay/`` (documented sample payloads).

What it keeps: the paid trades (``pay``), the refunds by (``out_trade_no``, ``out_request_no``) and the transfers
by ``out_biz_no``, and a ``ledger`` of every money movement, so a test asserts that money moved exactly once.
A repeated refund request with the same ``out_request_no`` answers ``fund_change: "N"`` (no money moved this
time), as Alipay does. Certificate mode (:meth:`AlipaySimulator.use_certificates`, 公钥证书模式): a request
without the right ``app_cert_sn`` / ``alipay_root_cert_sn`` is refused (code 40002, ``isv.app-cert-not-exist`` /
``isv.invalid-alipay-root-cert-sn``, unsigned) and every answer carries ``alipay_cert_sn``.
Modes: ``fail_next`` (a business error ``sub_code``), ``lose_answer_next`` (the refund is made, then the answer
stalls past the client's deadline: the dangerous timeout), ``stall_next`` (stalls before doing anything),
``system_error_next`` (``ACQ.SYSTEM_ERROR``), ``rate_limit_next`` (code 20000), and :meth:`notify` POSTs the signed
asynchronous notification (``trade_status_sync`` with ``out_biz_no``) to kefu.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.parse
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID

from tests.simulators.base import FIXTURES, SimulatedPlatform, SimulatorHandler, load_fixture, post, running

APP_ID = "2021000117600001"
KEYS = FIXTURES / "alipay"


def key_text(name: str) -> str:
    """A PEM file of the fixtures (``app_private_key``, ``app_public_key``, ``alipay_private_key``, ...)."""
    return (KEYS / f"{name}.pem").read_text()


def certificate_text(name: str) -> str:
    """A certificate of the fixtures (``app_cert_public_key``, ``alipay_cert_public_key_rsa2``,
    ``alipay_root_cert``, ``app_cert_public_key_other``), made by ``make_certificates.py`` beside them."""
    return (KEYS / f"{name}.crt").read_text()


# The root certificates counted in alipay_root_cert_sn: those signed with RSA (Alipay's SM2 root is left out).
RSA_SIGNATURES = frozenset(
    {
        SignatureAlgorithmOID.RSA_WITH_MD5,
        SignatureAlgorithmOID.RSA_WITH_SHA1,
        SignatureAlgorithmOID.RSA_WITH_SHA256,
        SignatureAlgorithmOID.RSA_WITH_SHA384,
        SignatureAlgorithmOID.RSA_WITH_SHA512,
    }
)


def certificate_sn(certificate: x509.Certificate) -> str:
    """Alipay's certificate serial: md5 of the issuer ``CN=…,OU=…,O=…,C=…`` followed by the decimal serial."""

    def issuer(oid: x509.ObjectIdentifier) -> str:
        values = certificate.issuer.get_attributes_for_oid(oid)
        return str(values[0].value) if values else "None"

    text = "CN={},OU={},O={},C={}".format(*map(issuer, ISSUER_PARTS)) + str(certificate.serial_number)
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()  # Alipay's definition, not security


ISSUER_PARTS = (NameOID.COMMON_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.ORGANIZATION_NAME, NameOID.COUNTRY_NAME)


def root_certificate_sn(chain: str) -> str:
    """``alipay_root_cert_sn``: the serials of the RSA-signed roots of ``alipayRootCert.crt`` joined by ``_``."""
    roots = x509.load_pem_x509_certificates(chain.encode())
    return "_".join(certificate_sn(root) for root in roots if root.signature_algorithm_oid in RSA_SIGNATURES)


def rsa2_sign(text: str, private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa2_verify(text: str, signature: str, public_pem: str) -> bool:
    key = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        key.verify(base64.b64decode(signature), text.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def signing_text(params: dict[str, str], *, leave_out: tuple[str, ...] = ("sign",)) -> str:
    """The text signed: sorted ``key=value`` pairs joined by ``&``, empty values and ``leave_out`` left out (a
    request signs its ``sign_type``; a notification is verified without it)."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in leave_out and params[k] != "")


def money(value: Decimal) -> str:
    return f"{value:.2f}"


@dataclass
class AlipaySimulator(SimulatedPlatform):
    app_id: str = APP_ID
    app_public_key: str = field(default_factory=lambda: key_text("app_public_key"))
    alipay_private_key: str = field(default_factory=lambda: key_text("alipay_private_key"))
    trades: dict[str, dict[str, Any]] = field(default_factory=dict)  # out_trade_no -> the paid trade
    refunds: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    transfers: dict[str, dict[str, Any]] = field(default_factory=dict)  # out_biz_no -> the transfer
    ledger: list[tuple[str, str, Decimal]] = field(default_factory=list)  # (kind, request number, amount)
    calls: list[str] = field(default_factory=list)
    fail_next: list[str] = field(default_factory=list)  # business error sub_codes answered in turn
    lose_answer_next: int = 0
    system_error_next: int = 0
    rate_limit_next: int = 0
    balance: Decimal = Decimal("100000.00")  # the merchant's available balance (refunds and transfers use it)
    # Certificate mode (公钥证书模式) when set (:meth:`use_certificates`): the app's certificate as Alipay holds it.
    app_certificate: str = ""
    root_certificate: str = ""
    alipay_certificate: str = ""

    def use_certificates(self, app_certificate: str | None = None) -> None:
        """Certificate mode: requests must carry ``app_cert_sn`` and ``alipay_root_cert_sn``, are verified with the
        key of the app's certificate, and answers carry ``alipay_cert_sn``."""
        self.app_certificate = app_certificate or certificate_text("app_cert_public_key")
        self.root_certificate = certificate_text("alipay_root_cert")
        self.alipay_certificate = certificate_text("alipay_cert_public_key_rsa2")
        certificate = x509.load_pem_x509_certificate(self.app_certificate.encode())
        self.app_public_key = (
            certificate.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def _certificate_refusal(self, params: dict[str, str]) -> dict[str, str] | None:
        """Alipay's refusal of a request without the app's certificate serials (certificate mode only)."""
        if not self.app_certificate:
            return None
        app_sn = certificate_sn(x509.load_pem_x509_certificate(self.app_certificate.encode()))
        if params.get("app_cert_sn") != app_sn:
            sub_code = "isv.app-cert-not-exist"
        elif params.get("alipay_root_cert_sn") != root_certificate_sn(self.root_certificate):
            sub_code = "isv.invalid-alipay-root-cert-sn"
        else:
            return None
        message = load_fixture("alipay", "certificate_errors")[sub_code]
        return {"code": "40002", "msg": "Invalid Arguments", "sub_code": sub_code, "sub_msg": message}

    def _alipay_cert_sn(self) -> str:
        return certificate_sn(x509.load_pem_x509_certificate(self.alipay_certificate.encode()))

    def pay(self, out_trade_no: str, total: Decimal) -> dict[str, Any]:
        """A buyer paid ``total`` for the order ``out_trade_no``."""
        with self._lock:
            trade = {
                "out_trade_no": out_trade_no,
                "trade_no": f"2026{next(self._ids):024d}",
                "total_amount": Decimal(total),
                "refunded": Decimal("0.00"),
                "buyer_logon_id": "159****5620",
                "buyer_user_id": "2088101117955611",
            }
            self.trades[out_trade_no] = trade
            return trade

    def paid_out(self, number: str) -> Decimal:
        """How much money left the merchant for the refund or transfer ``number`` (all movements summed)."""
        return sum((amount for _kind, key, amount in self.ledger if key == number), Decimal("0.00"))

    # -- the protocol ------------------------------------------------------------------------------------
    def answer(self, params: dict[str, str]) -> tuple[int, str]:
        method = params.get("method", "")
        node_name = method.replace(".", "_") + "_response"
        with self._lock:
            self.calls.append(method)
            refusal = self._certificate_refusal(params)
            if refusal is not None:  # unsigned, with the certificate Alipay would have signed with
                answer = {"error_response": refusal, "alipay_cert_sn": self._alipay_cert_sn(), "sign": ""}
                return 200, json.dumps(answer, ensure_ascii=False)
            node = self._answer_node(method, params)
        if node is None:  # not signed: a gateway-level refusal (Alipay signs no answer it cannot attribute)
            return 200, json.dumps({"error_response": {"code": "40002", "msg": "Invalid Arguments"}})
        text = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
        sign = rsa2_sign(text, self.alipay_private_key)
        certificate = f',"alipay_cert_sn":"{self._alipay_cert_sn()}"' if self.alipay_certificate else ""
        return 200, f'{{"{node_name}":{text}{certificate},"sign":"{sign}"}}'

    def _answer_node(self, method: str, params: dict[str, str]) -> dict[str, Any] | None:
        if params.get("app_id") != self.app_id or params.get("sign_type") != "RSA2":
            return None
        if not rsa2_verify(signing_text(params), params.get("sign", ""), self.app_public_key):
            return {
                "code": "40002",
                "msg": "Invalid Arguments",
                "sub_code": "isv.invalid-signature",
                "sub_msg": "验签错",
            }
        if self.rate_limit_next > 0:
            self.rate_limit_next -= 1
            return {"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "isp.rate-limit"}
        if self.system_error_next > 0:
            self.system_error_next -= 1
            return self._business_error("ACQ.SYSTEM_ERROR")
        biz = json.loads(params.get("biz_content") or "{}")
        if method == "alipay.trade.refund":
            return self._refund(biz)
        if method == "alipay.trade.fastpay.refund.query":
            return self._refund_query(biz)
        if method == "alipay.fund.trans.uni.transfer":
            return self._transfer(biz)
        return {"code": "40004", "msg": "Business Failed", "sub_code": "isv.invalid-method", "sub_msg": method}

    def _business_error(self, sub_code: str) -> dict[str, Any]:
        sample = load_fixture("alipay", "trade_refund_failure")
        message = sample["sub_msgs"][sub_code]
        return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": message}

    def _refund(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = self.trades.get(biz.get("out_trade_no", ""))
        if trade is None:
            return self._business_error("ACQ.TRADE_NOT_EXIST")
        request_no = biz.get("out_request_no") or trade["out_trade_no"]
        amount = Decimal(str(biz["refund_amount"]))
        existing = self.refunds.get((trade["out_trade_no"], request_no))
        fund_change = "N"
        if existing is None:
            if self.fail_next:
                return self._business_error(self.fail_next.pop(0))
            if trade["refunded"] + amount > trade["total_amount"]:
                return self._business_error("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")
            if amount > self.balance:
                return self._business_error("ACQ.SELLER_BALANCE_NOT_ENOUGH")
            trade["refunded"] += amount
            self.balance -= amount
            self.ledger.append(("refund", request_no, amount))
            existing = {"amount": amount, "at": self.now().strftime("%Y-%m-%d %H:%M:%S")}
            self.refunds[(trade["out_trade_no"], request_no)] = existing
            fund_change = "Y"
            if self.lose_answer_next > 0:  # made, but the answer never reaches the client in time
                self.lose_answer_next -= 1
                self.stall_next += 1
        node = load_fixture("alipay", "trade_refund_success")
        node.update(
            trade_no=trade["trade_no"],
            out_trade_no=trade["out_trade_no"],
            fund_change=fund_change,
            refund_fee=money(trade["refunded"]),
            send_back_fee=money(existing["amount"]),
            gmt_refund_pay=existing["at"],
        )
        return node

    def _refund_query(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = self.trades.get(biz.get("out_trade_no", ""))
        if trade is None:
            return self._business_error("ACQ.TRADE_NOT_EXIST")
        refund = self.refunds.get((trade["out_trade_no"], biz.get("out_request_no", "")))
        if refund is None:  # Alipay answers success without refund fields for a refund it does not know
            return {"code": "10000", "msg": "Success", "out_trade_no": trade["out_trade_no"]}
        node = load_fixture("alipay", "fastpay_refund_query")
        node.update(
            trade_no=trade["trade_no"],
            out_trade_no=trade["out_trade_no"],
            out_request_no=biz["out_request_no"],
            total_amount=money(trade["total_amount"]),
            refund_amount=money(refund["amount"]),
            gmt_refund_pay=refund["at"],
        )
        return node

    def _transfer(self, biz: dict[str, Any]) -> dict[str, Any]:
        number = biz.get("out_biz_no", "")
        existing = self.transfers.get(number)
        if existing is None:
            if biz.get("product_code") != "TRANS_ACCOUNT_NO_PWD":
                return self._business_error("ACQ.SYSTEM_ERROR")
            if self.fail_next:
                sub_code = self.fail_next.pop(0)
                return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_code}
            amount = Decimal(str(biz["trans_amount"]))
            self.balance -= amount
            self.ledger.append(("transfer", number, amount))
            existing = {"order_id": f"2026{next(self._ids):028d}", "at": self.now().strftime("%Y-%m-%d %H:%M:%S")}
            existing["payee"] = biz.get("payee_info", {})
            self.transfers[number] = existing
            if self.lose_answer_next > 0:
                self.lose_answer_next -= 1
                self.stall_next += 1
        node = load_fixture("alipay", "fund_trans_uni_transfer")
        node.update(out_biz_no=number, order_id=existing["order_id"], trans_date=existing["at"])
        return node

    # -- the asynchronous notification -----------------------------------------------------------------
    def notification(self, out_trade_no: str, out_request_no: str, *, sign: bool = True) -> dict[str, str]:
        """The signed ``trade_status_sync`` notification of a refund made here (as form fields)."""
        with self._lock:
            trade = self.trades[out_trade_no]
            refund = self.refunds[(out_trade_no, out_request_no)]
            params = {k: str(v) for k, v in load_fixture("alipay", "refund_notify").items()}
            params.update(
                notify_time=self.now().strftime("%Y-%m-%d %H:%M:%S"),
                notify_id=f"sim{next(self._ids):030d}",
                app_id=self.app_id,
                trade_no=trade["trade_no"],
                out_trade_no=out_trade_no,
                out_biz_no=out_request_no,
                total_amount=money(trade["total_amount"]),
                refund_fee=money(trade["refunded"]),
                gmt_refund=f"{refund['at']}.000",
            )
        text = signing_text(params, leave_out=("sign", "sign_type"))
        params["sign"] = rsa2_sign(text, self.alipay_private_key) if sign else "bm90IGEgc2lnbg=="
        return params

    def notify(self, url: str, params: dict[str, str]) -> tuple[int, bytes]:
        """POST a notification to kefu as Alipay does (a form, charset utf-8)."""
        body = urllib.parse.urlencode(params).encode()
        return post(url, body, {"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"})


class AlipayHandler(SimulatorHandler):
    content_type = "text/html;charset=utf-8"  # what Alipay's gateway declares for its JSON answers

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        simulator: AlipaySimulator = self.simulator
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        form = urllib.parse.parse_qs(self.read_body().decode(), keep_blank_values=True)
        params = {k: v[0] for k, v in {**query, **form}.items()}
        status, text = simulator.answer(params)
        simulator.take_stall()
        data = text.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", self.content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass


def serve(simulator: AlipaySimulator | None = None, *, port: int = 0) -> Any:
    """``with serve() as alipay:`` a simulator on a free port; ``alipay.url`` is its gateway address."""
    return running(simulator or AlipaySimulator(), AlipayHandler, path="/gateway.do", port=port)


__all__ = [
    "APP_ID",
    "AlipaySimulator",
    "certificate_sn",
    "certificate_text",
    "key_text",
    "root_certificate_sn",
    "serve",
]
