"""Taobao / Tmall: the write-backs beyond agreeing and refusing: 协商, evidence for 小二, the exchange's parcel.

A mixin of :class:`connectors.platforms.taobao.TaobaoConnector` (its signed ``call``). API names and parameters
from TOP's official SDKs (topsdk, bububa/opentaobao), not from PLATFORMS.md's table unless it names them:

- ``taobao.refund.negotiatereturn`` (协商退货退款): ``refund_id``, ``refund_version``, ``refund_fee`` (**fen**),
  ``address_id`` (an address from ``taobao.refund.negotiatereturn.render``; kefu sends the connection's return
  address id, unconfirmed that the two are the same ids). It offers a return and a refund of ``refund_fee``:
  a counter-offer without goods back, or without money, is not what it expresses (permanent errors).
- ``taobao.refund.message.add`` (退款留言/凭证): ``refund_id``, ``content`` (≤ 400 bytes), ``image`` (one file,
  JPG/GIF/PNG ≤ 500 KB, multipart, outside the signature): the merchant's evidence while 小二 intervenes.
- ``tmall.exchange.consigngoods`` (换货卖家发货): ``dispute_id``, ``logistics_no``, ``logistics_company_name``,
  ``logistics_type`` (200 express): the replacement's parcel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from connectors.base import Connection
from connectors.commands import Command, CommandResult, ErrorKind, PlatformError
from connectors.platforms.taobao_exchange import dispute_id, is_exchange

MESSAGE_MAX_BYTES = 400
IMAGE_MAX_BYTES = 500 * 1024
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif"}
EXPRESS = 200  # logistics_type: 100 平邮, 200 快递


def _cut_bytes(text: str, limit: int) -> str:
    """``text`` shortened to at most ``limit`` UTF-8 bytes, never inside a character."""
    return text.encode()[:limit].decode(errors="ignore")


def _refused(answer: dict[str, Any], code: str) -> None:
    if answer.get("is_success") in (False, "false") or answer.get("succ") in (False, "false"):
        raise PlatformError(ErrorKind.PERMANENT, code, str(answer.get("msg") or answer.get("message") or "refused"))


class TaobaoFlows:
    """Needs ``call`` and ``connection`` from the connector."""

    connection: Connection

    def call(
        self, method: str, *, files: Mapping[str, tuple[str, bytes, str]] | None = None, **business: Any
    ) -> dict[str, Any]:
        raise NotImplementedError  # TaobaoConnector.call

    def counter_offer(self, command: Command) -> CommandResult:
        if command.amount_fen is None:
            raise PlatformError(
                ErrorKind.PERMANENT,
                "offer_without_amount",
                _(
                    "Taobao's counter-offer (协商退货退款) names a refund: "
                    "offer another solution in the 千牛 back office."
                ),
            )
        if command.extra.get("has_good_return") in (False, "false"):
            raise PlatformError(
                ErrorKind.PERMANENT,
                "offer_without_return",
                _(
                    "Taobao's counter-offer API asks for the goods back (协商退货退款): offer a partial refund "
                    "without a return in the 千牛 back office."
                ),
            )
        address = command.address_id or self.connection.return_address_id
        if not address:
            raise PlatformError(ErrorKind.PERMANENT, "no_address", _("The shop connection has no return address id."))
        answer = self.call(
            "taobao.refund.negotiatereturn",
            refund_id=command.case_id,
            refund_version=command.version,
            refund_fee=command.amount_fen,
            address_id=address,
        )
        _refused(answer, "offer_refused")
        return CommandResult(raw=answer)

    def upload_evidence(self, command: Command) -> CommandResult:
        """One message per image (TOP takes one image a message), the statement with the first."""
        content = _cut_bytes(command.reason.strip(), MESSAGE_MAX_BYTES)
        images = [f for f in command.extra.get("files", ()) if f[1] in IMAGE_TYPES and len(f[2]) <= IMAGE_MAX_BYTES]
        if not images and not content:
            raise PlatformError(ErrorKind.PERMANENT, "no_evidence", _("Nothing to send: no statement and no image."))
        answers = []
        for index, image in enumerate(images or [None]):
            files = {"image": (image[0], image[2], image[1])} if image else None
            text = content if index == 0 else f"({index + 1}/{len(images)})"
            answer = self.call("taobao.refund.message.add", files=files, refund_id=command.case_id, content=text)
            _refused(answer, "evidence_refused")
            answers.append(answer)
        return CommandResult(message=f"{len(answers)} message(s)", raw={"answers": answers})

    # -- Tmall exchanges (``exchange:<dispute_id>`` cases; ``taobao_exchange``) ------------------------------
    def exchange_agree(self, command: Command) -> CommandResult:
        address = command.address_id or self.connection.return_address_id
        if not address:
            raise PlatformError(ErrorKind.PERMANENT, "no_address", _("The shop connection has no return address id."))
        answer = self.call(
            "tmall.exchange.agree",
            dispute_id=dispute_id(command.case_id),
            address_id=address,
            leave_message=command.reason[:200] or None,
            fields="dispute_id,status,modified",
        )
        return _exchange_result(answer, "exchange_agree_refused")

    def exchange_refuse(self, command: Command) -> CommandResult:
        answer = self.call(
            "tmall.exchange.refuse",
            dispute_id=dispute_id(command.case_id),
            leave_message=(command.reason or "").strip()[:200],
            fields="dispute_id,status,modified",
        )
        return _exchange_result(answer, "exchange_refuse_refused")

    def confirm_received(self, command: Command) -> CommandResult:
        """An exchange's goods back are confirmed on Tmall (``tmall.exchange.returngoods.agree``); a refund's
        receipt is kefu's own step (agreeing the refund after it is the answer)."""
        if not is_exchange(command.case_id):
            return CommandResult(applied=False, message="kefu-side step")
        answer = self.call(
            "tmall.exchange.returngoods.agree", dispute_id=dispute_id(command.case_id), fields="dispute_id,status"
        )
        return _exchange_result(answer, "exchange_receipt_refused")

    def ship_exchange(self, command: Command) -> CommandResult:
        if not command.waybill:
            raise PlatformError(ErrorKind.PERMANENT, "no_waybill", _("The replacement has no tracking number."))
        answer = self.call(
            "tmall.exchange.consigngoods",
            dispute_id=dispute_id(command.case_id),
            logistics_no=command.waybill,
            logistics_company_name=command.carrier,
            logistics_type=EXPRESS,
            fields="dispute_id,status,modified",
        )
        return _exchange_result(answer, "exchange_refused")


def _exchange_result(answer: dict[str, Any], code: str) -> CommandResult:
    result = answer.get("result") or {}
    if result.get("success") in (False, "false"):
        raise PlatformError(ErrorKind.PERMANENT, code, str(result.get("error_msg") or result.get("msg") or "refused"))
    return CommandResult(raw=answer)
