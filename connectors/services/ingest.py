"""A platform's case into kefu: idempotent, ordered, through the ticket services only.

``case_ingest(connection=, snapshot=)`` is the one entry (the push inbox, the pull, reconciliation and the
backfill all call it). In one transaction it:

1. locks the ``PlatformCase`` row of (platform, connection, case id), creating it the first time (a concurrent
   first sight of the same case waits on the unique constraint and then locks the row the other one made);
2. drops a snapshot that is not newer than the last one applied (``modified_at``, then ``version``): a push and
   a pull of the same change, a duplicated or a late push change nothing and write nothing on the ticket;
3. stores the raw codes; a type or status the connector does not map is kept raw and flagged (``unknown``),
   never raised;
4. opens the ticket the first time (the order first, from the platform, when kefu has not seen it), through
   ``tickets.services`` (``return_open`` / ``exchange_open`` / ``logistics_open``) as the platform actor;
5. stores the platform's deadline for the merchant (``ticket_platform_deadline_set``: the step's clock moves
   before it), then runs the transitions that bring the ticket to the platform's status, each through
   ``ticket_act`` as ``Actor.platform(name)`` (``Role.PLATFORM`` on the declarations says which it may run);
   a refund the platform paid is settled with ``refund_settle_on_platform``.

When no declared transition leads from the ticket's state to the platform's status (the merchant acted in the
platform's back office in a way kefu has no transition for), the case records the drift in ``last_error`` for
reconciliation's report and the staff; nothing is forced.

Lock order: the platform case row, then the ticket (tickets.locks), then the order's lines.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from connectors.base import CaseKind, CaseSnapshot, CaseStatus, Connector, fen_to_yuan
from connectors.models import PlatformCase, ShopConnection
from connectors.platforms import connector_for
from connectors.services.following import in_step, next_step
from kefu.core.errors import DomainError
from orders.models import Order, OrderStatus
from orders.services import order_upsert
from orders.types import BuyerData, LineData, OrderData
from tickets.actors import Actor
from tickets.models import ExceptionType, Ticket
from tickets.services import exchange_open, logistics_open, return_open, ticket_act
from tickets.services.opening import Platform as PlatformClock
from tickets.services.platform import refund_settle_on_platform, ticket_platform_deadline_set
from tickets.types import LineRequest

logger = logging.getLogger(__name__)

# Words of the platforms' reason texts → kefu's reason codes (the first that matches; "other" otherwise).
REASON_WORDS = (
    ("七天无理由", "seven_days_no_reason"),
    ("质量", "quality_problem"),
    ("尺码", "wrong_size_colour"),
    ("颜色", "wrong_size_colour"),
    ("少件", "missing_or_wrong_item"),
    ("漏发", "missing_or_wrong_item"),
    ("错发", "missing_or_wrong_item"),
    ("破损", "damaged"),
    ("描述不符", "not_as_described"),
    ("未收到", "not_received"),
    ("发货", "not_shipped"),
    ("缺货", "out_of_stock"),
)
FINAL = {CaseStatus.CLOSED, CaseStatus.REFUNDED}
MAX_STEPS = 5


@dataclass(frozen=True)
class IngestResult:
    case: PlatformCase
    outcome: str  # "created", "updated", "stale", "unknown", "recorded" (no ticket), "drift", "error"
    transitions: tuple[str, ...] = ()


def case_ingest(
    *, connection: ShopConnection, snapshot: CaseSnapshot, connector: Connector | None = None
) -> IngestResult:
    """Apply ``snapshot`` (see the module docstring). ``connector`` fetches an unknown order (built when needed)."""
    with transaction.atomic():
        case, new = _case_locked(connection, snapshot)
        if not new and not snapshot.is_newer_than(case.modified_at, case.version):
            return IngestResult(case, "stale")
        _case_apply(case, snapshot)
        if not snapshot.is_known:
            case.save()
            logger.warning(
                "%s case %s: unknown code %s/%s kept raw", case.platform, case.case_id, case.raw_type, case.raw_status
            )
            return IngestResult(case, "unknown")
        actor = Actor.platform(connection.platform)
        try:
            with transaction.atomic():  # a refusal of the ticket services leaves the case row to be saved
                if case.ticket is None:
                    if new and snapshot.status in FINAL:
                        case.save()  # history (a backfill): the case is known, no ticket is opened for it
                        return IngestResult(case, "recorded")
                    ticket = _ticket_open(connection, snapshot, actor, connector)
                    case.ticket = ticket
                    outcome = "created"
                else:
                    ticket = case.ticket.as_kind()
                    ticket = ticket_platform_deadline_set(ticket=ticket, due_at=snapshot.merchant_deadline, actor=actor)
                    outcome = "updated"
                ticket, ran = _ticket_follow(ticket, snapshot, actor)
        except DomainError as exc:
            case.last_error = f"{exc.code}: {exc.message}"[:2000]
            case.save()
            logger.warning("%s case %s not applied to its ticket: %s", case.platform, case.case_id, case.last_error)
            return IngestResult(case, "error")
        stepped = in_step(ticket, snapshot)
        case.last_error = "" if stepped else f"drift: kefu {ticket.state}, platform {snapshot.raw_status}"
        case.save()
        return IngestResult(case, outcome if stepped else "drift", tuple(ran))


def _case_locked(connection: ShopConnection, snapshot: CaseSnapshot) -> tuple[PlatformCase, bool]:
    lookup = {"platform": connection.platform, "connection": connection, "case_id": snapshot.case_id}
    case = PlatformCase.objects.select_for_update().filter(**lookup).first()
    if case is not None:
        return case, False
    try:
        with transaction.atomic():
            case = PlatformCase.objects.create(
                **lookup,
                order_id=snapshot.order_id,
                kind=snapshot.kind,
                status=snapshot.status,
                modified_at=snapshot.modified_at,
                version=snapshot.version,
            )
            return case, True
    except IntegrityError:  # another worker saw it first: wait for its row
        return PlatformCase.objects.select_for_update().get(**lookup), False


def _case_apply(case: PlatformCase, snapshot: CaseSnapshot) -> None:
    case.order_id = snapshot.order_id
    case.kind = snapshot.kind
    case.status = snapshot.status
    case.raw_type = snapshot.raw_type[:64]
    case.raw_status = snapshot.raw_status[:64]
    case.unknown = not snapshot.is_known
    case.modified_at = snapshot.modified_at
    case.version = snapshot.version
    case.merchant_deadline = snapshot.merchant_deadline
    case.refund_fen = snapshot.refund_fen
    case.raw = dict(snapshot.raw)
    case.updated_at = timezone.now()


def reason_code_for(text: str) -> str:
    for word, code in REASON_WORDS:
        if word in text:
            return code
    return "other"


def _order_for(connection: ShopConnection, snapshot: CaseSnapshot, connector: Connector | None) -> Order:
    """The case's order in kefu; fetched from the platform and created when kefu has not seen it."""
    order = Order.objects.filter(shop_id=connection.shop_id, number=snapshot.order_id).first()
    if order is not None:
        return order
    if connector is None:
        connector = connector_for(connection)
    found = connector.fetch_order(snapshot.order_id, snapshot)
    data = OrderData(
        number=found.order_id,
        status=found.status or OrderStatus.PAID,
        paid_at=found.paid_at,
        delivered_at=found.delivered_at,
        buyer=BuyerData(external_id=found.buyer_id or "unknown", name=found.buyer_nick),
        lines=[
            LineData(
                sku=line.sku,
                name=line.name or line.sku,
                quantity=line.quantity,
                unit_price=fen_to_yuan(line.unit_fen),
                paid_amount=fen_to_yuan(line.paid_fen),
            )
            for line in found.lines
        ],
    )
    return order_upsert(shop=connection.shop, data=data).order


def _ticket_open(
    connection: ShopConnection, snapshot: CaseSnapshot, actor: Actor, connector: Connector | None
) -> Ticket:
    order = _order_for(connection, snapshot, connector)
    skus = {line.sku for line in order.lines.all()}
    lines = [
        LineRequest(sku=line.sku if line.sku in skus else f"oid-{line.external_id}", quantity=line.quantity)
        for line in snapshot.lines
    ]
    clock = PlatformClock(name=connection.platform, due_at=snapshot.merchant_deadline)
    description = snapshot.reason
    if snapshot.kind in (CaseKind.REFUND_ONLY, CaseKind.RETURN_REFUND):
        return return_open(
            order=order,
            actor=actor,
            lines=lines,
            reason_code=reason_code_for(snapshot.reason),
            refund_only=snapshot.kind == CaseKind.REFUND_ONLY,
            requested_amount=fen_to_yuan(snapshot.refund_fen) if snapshot.refund_fen else None,
            description=description,
            platform=clock,
        )
    if snapshot.kind == CaseKind.EXCHANGE:
        return exchange_open(
            order=order,
            actor=actor,
            lines=lines,
            reason_code=reason_code_for(snapshot.reason),
            replacement_sku=lines[0].sku if lines else "",
            description=description,
            platform=clock,
        )
    return logistics_open(
        order=order,
        actor=actor,
        exception_type=ExceptionType.MISSING_ITEM,
        description=description,
        lines=lines,
        platform=clock,
    )


def _ticket_follow(ticket: Ticket, snapshot: CaseSnapshot, actor: Actor) -> tuple[Ticket, list[str]]:
    ran: list[str] = []
    for _ in range(MAX_STEPS):
        if in_step(ticket, snapshot):
            break
        step = next_step(ticket, snapshot)
        if step is None:
            break
        name, inputs = step
        if name == "settle":
            ticket = refund_settle_on_platform(
                ticket=ticket, actor=actor, reference=f"{snapshot.platform}:{snapshot.case_id}"
            )
        else:
            ticket = ticket_act(ticket=ticket, actor=actor, action=name, check_version=False, **inputs)
        ran.append(name)
    return ticket, ran
