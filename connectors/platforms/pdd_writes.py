"""Pinduoduo's write-backs: agreeing a refund or a return, the replacement's waybill, and the refusal PDD has no
API for (docs/platforms.md, "Pinduoduo"; ``connectors.platforms.pdd`` lists the APIs and their sources).

A mixin of :class:`connectors.platforms.pdd.PddConnector` (its signed ``call``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from connectors.base import Connection, fen_to_yuan, yuan_to_fen
from connectors.commands import Command, CommandResult, ErrorKind, PlatformError
from connectors.platforms.pdd_codes import fen_amount, split_case_key


class PddWrites:
    """Needs ``call`` and ``connection`` from the connector."""

    connection: Connection

    def call(self, api: str, *, response_key: str | None, with_token: bool = True, **business: Any) -> dict[str, Any]:
        raise NotImplementedError

    @staticmethod
    def command_extra(raw: Mapping[str, Any]) -> dict[str, Any]:
        """The amount the buyer asked for, in fen, whichever API the case was last read from (the list's
        amounts are yuan, the detail's fen): ``pdd.refund.agree`` refunds exactly that, never less."""
        if raw.get("_from") == "pdd.refund.list.increment.get":
            return {"requested_fen": yuan_to_fen(raw.get("refund_amount"))}
        return {"requested_fen": fen_amount(raw.get("refund_amount"))}

    def _answer(self, api: str, command: Command, **fields: Any) -> CommandResult:
        """One write with ``request`` = {after_sales_id, order_sn, **fields} → ``response.result`` {succ, message}."""
        after_sales_id, order_sn = split_case_key(command.case_id)
        request = {"after_sales_id": int(after_sales_id), "order_sn": order_sn, **fields}
        answer = self.call(api, response_key="response", request=request)
        result = answer.get("result") or {}
        if result.get("succ") not in (True, "true"):
            raise PlatformError(ErrorKind.PERMANENT, "refused", str(result.get("message") or "refused"))
        return CommandResult(message=str(result.get("message") or ""), raw=answer)

    @staticmethod
    def _desc(command: Command, default: str) -> str:
        return (command.reason or default).strip()[:200]

    def agree_refund(self, command: Command) -> CommandResult:
        requested = int(command.extra.get("requested_fen") or 0)
        if command.amount_fen is not None and requested and command.amount_fen < requested:
            raise PlatformError(
                ErrorKind.PERMANENT,
                "partial_refund",
                _(
                    "Pinduoduo refunds exactly what the buyer asked for (%(requested)s yuan): a partial refund "
                    "(%(amount)s yuan) has to be agreed with the buyer in PDD's merchant back office."
                )
                % {"requested": fen_to_yuan(requested), "amount": fen_to_yuan(command.amount_fen)},
            )
        return self._answer("pdd.refund.agree", command, operate_desc=self._desc(command, "同意退款"))

    def return_address_id(self, command: Command) -> str:
        """The command's, the connection's, or the shop's default return address on PDD."""
        if command.address_id or self.connection.return_address_id:
            return command.address_id or self.connection.return_address_id
        answer = self.call("pdd.refund.address.list.get", response_key="refund_address_list_get_response")
        addresses = answer.get("refund_address_list") or []
        default = next((a for a in addresses if str(a.get("is_default")).lower() in ("1", "true")), None)
        if default is None:
            raise PlatformError(
                ErrorKind.PERMANENT, "no_address", _("The shop has no default return address on Pinduoduo.")
            )
        return str(default.get("refund_address_id") or default.get("id"))

    def agree_return(self, command: Command) -> CommandResult:
        address = self.return_address_id(command)
        return self._answer(
            "pdd.refund.returngoods.agree",
            command,
            operate_desc=self._desc(command, "同意退货"),
            return_address_id=address,
        )

    def shipping_id(self, carrier: str) -> int:
        """PDD's id of the carrier named ``carrier`` (its name or code, as ``pdd.logistics.companies.get`` lists
        them); a permanent error when PDD has no such carrier."""
        answer = self.call("pdd.logistics.companies.get", response_key="logistics_companies_get_response")
        wanted = carrier.strip().casefold()
        for company in answer.get("logistics_companies") or []:
            names = {str(company.get("logistics_company", "")).casefold(), str(company.get("code", "")).casefold()}
            if wanted and wanted in names:
                return int(company["id"])
        raise PlatformError(
            ErrorKind.PERMANENT,
            "unknown_carrier",
            _("Pinduoduo lists no carrier named “%(carrier)s”.") % {"carrier": carrier},
        )

    def ship_exchange(self, command: Command) -> CommandResult:
        """The replacement's waybill: ``pdd.refund.exchange.shipping`` (``shipping_id`` from the carrier's name)."""
        if not command.waybill:
            raise PlatformError(
                ErrorKind.PERMANENT, "no_waybill", _("The replacement shipment has no tracking number.")
            )
        return self._answer(
            "pdd.refund.exchange.shipping",
            command,
            shipping_id=self.shipping_id(command.carrier),
            shipping_name=command.carrier,
            tracking_number=command.waybill,
        )

    def refuse(self, command: Command) -> CommandResult:
        raise PlatformError(
            ErrorKind.PERMANENT,
            "unsupported",
            _(
                "Pinduoduo's open platform has no API to refuse an after-sales request: refuse it in PDD's "
                "merchant back office, with the reason and evidence there."
            ),
        )
