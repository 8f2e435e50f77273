"""The platform-neutral contract every marketplace connector implements, and what the core reads from it.

A connector (one module per platform in ``connectors.platforms``) translates between a platform's API and
these types; ingestion, write-back and reconciliation (``connectors.services``) only ever see them:

- :class:`CaseSnapshot`: one after-sales case (售后单) as the platform shows it now. ``kind`` and ``status`` are
  neutral (:class:`CaseKind`, :class:`CaseStatus`); ``raw_type``/``raw_status`` keep the platform's own codes.
  A code the connector does not know maps to ``CaseKind.UNKNOWN``/``CaseStatus.UNKNOWN``: ingestion stores it
  raw and flags the case, never crashes.
- ``modified_at`` + ``version`` order the snapshots of one case: ingestion applies a snapshot only when it is
  newer than the last one it applied (:meth:`CaseSnapshot.is_newer_than`), so a late push changes nothing.
- ``merchant_deadline``: when the platform acts on its own if the merchant has not answered (auto-agree,
  auto-refund); ``None`` while the merchant has nothing to answer.
- Money is in fen (``int``) everywhere in this contract; :func:`yuan_to_fen`/:func:`fen_to_yuan` are the only
  conversions (platforms that send yuan strings convert at the edge).
- :class:`PushMessage`: one pushed notification, verified; it only says *which* case changed: ingestion
  re-fetches the detail (pushes carry ids and status only, and arrive at least once, in any order).
- :class:`Command` (``connectors.commands``): a staff decision to carry out on the platform; a connector either
  returns a :class:`CommandResult` or raises :class:`PlatformError` saying whether to retry (``transient``,
  ``rate_limited``) or to hand the ticket back to the staff (``permanent``, with the platform's message).

Connectors do I/O only through ``kefu.core.outbound`` (the guarded client), so a connection's base URL (the
production gateway, or a local simulator in tests) is the only difference between the two.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any, Protocol

from django.utils.translation import gettext as _

from connectors.commands import Command, CommandResult, ErrorKind, PlatformError


class Platform(StrEnum):
    TAOBAO = "taobao"  # Taobao and Tmall: one open platform (TOP)
    PDD = "pdd"
    WECHAT = "wechat"  # WeChat Channels shop (微信小店)
    DOUYIN = "douyin"  # 抖店
    JD = "jd"


class CaseKind(StrEnum):
    """What the buyer asks for, in kefu's words (how each maps to a ticket: ``connectors.services.ingest``)."""

    REFUND_ONLY = "refund_only"  # 仅退款 → a return ticket with refund_only
    RETURN_REFUND = "return_refund"  # 退货退款 → a return ticket
    EXCHANGE = "exchange"  # 换货 → an exchange ticket
    RESEND = "resend"  # 补寄 (a missing item sent again) → a logistics ticket, exception "missing item"
    UNKNOWN = "unknown"  # kept raw, flagged; no ticket is opened for it


class CaseStatus(StrEnum):
    """Where the case stands on the platform, in neutral terms (docs/platforms.md has each platform's table)."""

    REQUESTED = "requested"  # the buyer applied; the merchant must answer
    AWAITING_RETURN = "awaiting_return"  # return agreed; the buyer is to send the goods
    RETURN_IN_TRANSIT = "return_in_transit"  # the buyer shipped (a return waybill is known)
    RECEIVED = "received"  # the goods are back (where the platform says so)
    REFUNDED = "refunded"  # the platform paid the refund / the case succeeded
    REJECTED = "rejected"  # the merchant refused; the buyer may answer
    CLOSED = "closed"  # closed without a refund (buyer cancelled, expired, failed)
    ARBITRATION = "arbitration"  # the platform intervenes (平台介入 / 小二介入); its ruling is still to come
    COUNTER_OFFER = "counter_offer"  # 协商: the merchant's counter-offer awaits the buyer
    # 换货 / 补寄 beyond the goods coming back: the merchant sent the new item; the buyer is to receive it …
    REPLACEMENT_SHIPPED = "replacement_shipped"
    COMPLETED = "completed"  # … and the exchange or resend succeeded (the buyer confirmed, or the platform did)
    UNKNOWN = "unknown"  # a code the connector does not know (kept raw, flagged)


FEN_PER_YUAN = 100


def yuan_to_fen(value: str | Decimal | int | float | None) -> int:
    """``"200.07"`` → ``20007``. ``None``/``""`` → 0. Rounds half up to the fen (platforms send two decimals)."""
    if value is None or value == "":
        return 0
    amount = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return int(amount * FEN_PER_YUAN)


def fen_to_yuan(fen: int) -> Decimal:
    """``20007`` → ``Decimal("200.07")`` (what kefu's money fields hold)."""
    return (Decimal(fen) / FEN_PER_YUAN).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class CaseLine:
    sku: str
    quantity: int
    name: str = ""
    external_id: str = ""  # the platform's order line id (Taobao ``oid``)


@dataclass(frozen=True)
class CaseSnapshot:
    """One after-sales case as the platform shows it at ``modified_at`` (see the module docstring)."""

    platform: Platform
    shop_external_id: str
    case_id: str
    order_id: str
    kind: CaseKind
    status: CaseStatus
    raw_type: str
    raw_status: str
    modified_at: datetime  # aware
    version: int = 0  # the platform's optimistic-lock counter (Taobao ``refund_version``); 0 when it has none
    refund_fen: int = 0  # what the buyer asks back
    paid_fen: int = 0  # what the buyer paid for the lines concerned
    reason: str = ""
    merchant_deadline: datetime | None = None  # aware; when the platform acts if the merchant does not
    lines: tuple[CaseLine, ...] = ()
    buyer_id: str = ""
    buyer_nick: str = ""
    return_carrier: str = ""
    return_waybill: str = ""
    arbitration: bool = False  # the platform intervenes, whatever ``status`` says
    # 协商: the refund the merchant's pending counter-offer names (fen), where the platform shows it. A platform
    # whose case shows no pending offer (``shows_offers=False``: Taobao's refunds stay WAIT_SELLER_AGREE while
    # the buyer considers it) keeps kefu's counter-offer standing until the buyer accepts or the case moves on.
    offer_fen: int | None = None
    shows_offers: bool = True
    # The carrier and waybill of the merchant's new parcel (exchange / 补寄), where the platform reports it.
    reship_carrier: str = ""
    reship_waybill: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def is_known(self) -> bool:
        return self.kind != CaseKind.UNKNOWN and self.status != CaseStatus.UNKNOWN

    def order_key(self) -> tuple[datetime, int]:
        return (self.modified_at, self.version)

    def is_newer_than(self, modified_at: datetime | None, version: int | None) -> bool:
        """Whether this snapshot is later than the one last applied (modified time first, then version)."""
        if modified_at is None:
            return True
        return self.order_key() > (modified_at, version or 0)


@dataclass(frozen=True)
class OrderSnapshot:
    """The order a case belongs to, enough for ``orders.services.order_upsert`` when kefu has not seen it."""

    order_id: str
    buyer_id: str
    buyer_nick: str
    paid_at: datetime
    lines: tuple[OrderLineSnapshot, ...]
    delivered_at: datetime | None = None
    status: str = "paid"


@dataclass(frozen=True)
class OrderLineSnapshot:
    sku: str
    name: str
    quantity: int
    unit_fen: int
    paid_fen: int


@dataclass(frozen=True)
class TokenGrant:
    """A refreshed OAuth grant: the new access token, when it expires, and the refresh token to use next."""

    access_token: str
    expires_at: datetime | None
    refresh_token: str = ""


@dataclass(frozen=True)
class Page:
    """One page of an incremental pull. ``next_cursor`` is what the next call passes (opaque to the core)."""

    snapshots: Sequence[CaseSnapshot]
    next_cursor: str
    has_more: bool


@dataclass(frozen=True)
class PushMessage:
    """One verified pushed message: which case changed (re-fetch its detail), de-duplicated by ``message_id``."""

    message_id: str
    topic: str
    case_id: str
    modified_at: datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)


# The push view passes the request's query string to ``verify_push`` under this name among the headers.
QUERY_STRING_HEADER = "X-Kefu-Query-String"


class BadSignature(Exception):
    """A pushed message's signature does not verify (answered 403, nothing stored)."""


class Connection(Protocol):
    """What a connector reads of its shop connection (``connectors.models.ShopConnection`` is one): this module
    stays below the models, which import its enums. Secrets are clear text here (decrypted on load)."""

    pk: Any
    platform: str
    external_id: str  # the shop's id on the platform
    base_url: str  # empty: the platform's production gateway
    app_key: str
    app_secret: str
    access_token: str
    refresh_token: str
    token_expires_at: datetime | None
    return_address_id: str

    def save(self, *, update_fields: Iterable[str] | None = None) -> None:
        """Store a renewed token (``update_fields``); only called on a saved connection (``pk`` set)."""


class Connector(abc.ABC):
    """One platform's API for one shop connection. Built by ``connectors.platforms.connector_for(connection)``.

    Implementations are stateless apart from the connection (credentials decrypted on use) and do their HTTP
    through ``kefu.core.outbound``. Every method raises :class:`PlatformError` for what the platform answers
    with an error or does not answer at all.
    """

    platform: Platform

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # -- reading ----------------------------------------------------------------------------------------
    @abc.abstractmethod
    def pull(self, cursor: str, *, until: datetime | None = None) -> Page:
        """The next page of cases changed since ``cursor`` (``""``: from the connection's start)."""

    @abc.abstractmethod
    def fetch(self, case_id: str) -> CaseSnapshot:
        """One case's detail as it is now."""

    @abc.abstractmethod
    def fetch_order(self, order_id: str, case: CaseSnapshot | None = None) -> OrderSnapshot:
        """The order a case belongs to, described from ``case`` (every platform's case carries its order's lines
        and amounts). Ingestion calls it while it holds the case's row lock, so it must not call the platform:
        an order that needs an API call would be fetched before the lock (``connectors/services/ingest.py``)."""

    def refresh_access_token(self) -> TokenGrant:
        """A new access token from the connection's refresh token (called before it expires:
        ``KEFU_CONNECTOR_TOKEN_REFRESH_MARGIN_SECONDS``). Platforms without refresh raise a permanent error."""
        raise PlatformError(ErrorKind.PERMANENT, "unsupported", "this platform's tokens are not refreshed by kefu")

    @abc.abstractmethod
    def cursor_at(self, moment: datetime) -> str:
        """A pull cursor starting at ``moment`` (the backfill's start; the first pull of a new connection)."""

    # -- pushes -----------------------------------------------------------------------------------------
    @classmethod
    @abc.abstractmethod
    def push_shop_id(cls, headers: Mapping[str, str], body: bytes) -> str:
        """The platform shop id a pushed request is for (read before verifying: it picks the connection whose
        secret verifies it). ``""`` when the body does not say; ``ValueError`` when it cannot be read."""

    @abc.abstractmethod
    def verify_push(self, headers: Mapping[str, str], body: bytes) -> list[PushMessage]:
        """The messages of one pushed request; raises :class:`BadSignature` when it does not verify."""

    @classmethod
    def push_challenge(cls, query: Mapping[str, str]) -> bytes | None:
        """The answer to a ``GET`` of the push URL (a platform's URL check, e.g. WeChat's ``echostr``), or None
        (answered 403). None by default: most platforms only POST."""
        return None

    @classmethod
    def push_answer(cls) -> tuple[int, bytes, str]:
        """What to answer a verified push with: (status, body, content type)."""
        return 200, b'{"success":true}', "application/json"

    # -- writing ----------------------------------------------------------------------------------------
    @staticmethod
    def command_extra(raw: Mapping[str, Any]) -> dict[str, Any]:
        """The platform fields a write needs from the case's last payload (``Command.extra``; e.g. TOP's
        ``refund_phase``), taken when the write-back is enqueued. None by default."""
        return {}

    def execute(self, command: Command) -> CommandResult:
        """Carry out ``command`` (dispatches to the method named after it)."""
        return getattr(self, command.name.value)(command)

    @abc.abstractmethod
    def agree_refund(self, command: Command) -> CommandResult: ...

    @abc.abstractmethod
    def agree_return(self, command: Command) -> CommandResult: ...

    @abc.abstractmethod
    def refuse(self, command: Command) -> CommandResult: ...

    def confirm_received(self, command: Command) -> CommandResult:
        """Most platforms have no separate receipt call: agreeing the refund after receipt is the answer."""
        return CommandResult(applied=False, message="kefu-side step")

    def ship_exchange(self, command: Command) -> CommandResult:
        raise PlatformError(ErrorKind.PERMANENT, "unsupported", "exchange shipment is not supported by this connector")

    def ship_resend(self, command: Command) -> CommandResult:
        raise PlatformError(ErrorKind.PERMANENT, "unsupported", "resend shipment is not supported by this connector")

    def upload_evidence(self, command: Command) -> CommandResult:
        """Evidence for the platform's intervention: ``reason`` is the statement, ``extra["files"]`` the
        ticket's attachments as (name, content type, bytes), read when the write-back is sent."""
        raise PlatformError(
            ErrorKind.PERMANENT,
            "unsupported",
            _(
                "this platform has no evidence upload API kefu can use: "
                "upload the evidence in the platform's back office"
            ),
        )

    def counter_offer(self, command: Command) -> CommandResult:
        """协商: offer the buyer ``amount_fen`` (None: an offer without money) with ``reason`` as its words."""
        raise PlatformError(
            ErrorKind.PERMANENT,
            "unsupported",
            _("this platform has no counter-offer (协商) API: make the offer in the platform's back office"),
        )
