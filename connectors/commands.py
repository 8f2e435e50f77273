"""Staff decisions carried out on a platform (:class:`Command`), what the platform answers (:class:`CommandResult`), and
how a platform call fails (:class:`PlatformError`, whose :class:`ErrorKind` decides retry or hand-back).

Part of the connector contract (``connectors.base``); a command is stored in the write-back outbox as its
:meth:`Command.as_payload` and carried out by ``connectors.services.writeback``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class CommandName(StrEnum):
    AGREE_REFUND = "agree_refund"
    AGREE_RETURN = "agree_return"
    REFUSE = "refuse"
    CONFIRM_RECEIVED = "confirm_received"
    SHIP_EXCHANGE = "ship_exchange"
    SHIP_RESEND = "ship_resend"
    UPLOAD_EVIDENCE = "upload_evidence"
    COUNTER_OFFER = "counter_offer"


@dataclass(frozen=True)
class Command:
    """A staff decision to carry out on the platform for one case.

    ``version`` is the platform version the decision was taken on (passed back where the platform locks
    optimistically); ``amount_fen`` for refunds; ``address_id`` the shop's return address on the platform;
    ``carrier``/``waybill`` for shipments; ``evidence`` URLs or ids of already uploaded proofs.
    """

    name: CommandName
    case_id: str
    version: int = 0
    amount_fen: int | None = None
    reason: str = ""
    address_id: str = ""
    carrier: str = ""
    waybill: str = ""
    evidence: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_payload(self) -> dict[str, Any]:
        """What the outbox stores (``WriteBack.payload``); :meth:`from_payload` reads it back."""
        return {
            "name": self.name.value,
            "case_id": self.case_id,
            "version": self.version,
            "amount_fen": self.amount_fen,
            "reason": self.reason,
            "address_id": self.address_id,
            "carrier": self.carrier,
            "waybill": self.waybill,
            "evidence": list(self.evidence),
            "extra": dict(self.extra),
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> Command:
        return cls(
            name=CommandName(data["name"]),
            case_id=str(data["case_id"]),
            version=int(data.get("version") or 0),
            amount_fen=data.get("amount_fen"),
            reason=data.get("reason", ""),
            address_id=data.get("address_id", ""),
            carrier=data.get("carrier", ""),
            waybill=data.get("waybill", ""),
            evidence=tuple(data.get("evidence", ())),
            extra=dict(data.get("extra") or {}),
        )


@dataclass(frozen=True)
class CommandResult:
    """The platform accepted the command. ``applied=False``: nothing to do there (a kefu-side step only)."""

    applied: bool = True
    message: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)


class ErrorKind(StrEnum):
    PERMANENT = "permanent"  # the platform refused: hand the ticket back to the staff with ``message``
    TRANSIENT = "transient"  # the platform failed or did not answer: retry with backoff
    RATE_LIMITED = "rate_limited"  # call limit hit: retry later (backoff with jitter)


class PlatformError(Exception):
    """A platform call failed. ``kind`` decides what happens next; ``code``/``message`` are the platform's own
    (``message`` is shown to the staff when the failure is permanent)."""

    def __init__(self, kind: ErrorKind, code: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.kind = kind
        self.code = code
        self.message = message
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.kind != ErrorKind.PERMANENT
