"""A platform's case into kefu: idempotent, ordered, through the ticket services only.

``case_ingest(connection=, snapshot=)`` is the one entry (the push inbox, the pull, reconciliation and the
backfill all call it). It:

1. reads the ``PlatformCase`` row of (platform, connection, case id) without a lock and drops a snapshot that is not
   newer than the last one applied (``modified_at``, then ``version``): a push and a pull of the same change, a
   duplicated or a late push, the pull windows' overlap change nothing, write nothing and cost one statement;
2. otherwise, in one transaction, locks the row, creating it the first time (a concurrent first sight of the same
   case waits on the unique constraint, then locks the row the other one made and checks again);
3. stores the raw codes; a type or status the connector does not map is kept raw and flagged (``unknown``),
   never raised;
4. opens the ticket the first time (the order first, from the platform, when kefu has not seen it), through
   ``tickets.services`` (``return_open`` / ``exchange_open`` / ``logistics_open``) as the platform actor;
5. stores the platform's deadline for the merchant (``ticket_platform_deadline_set``: the step's clock moves
   before it), then runs the transitions that bring the ticket to the platform's status, each through
   ``ticket_act`` as ``Actor.platform(name)`` (``Role.PLATFORM`` on the declarations says which it may run);
   a refund the platform paid is settled with ``refund_settle_on_platform``.

Each ticket service is atomic on its own, with no savepoint around them all: a refusal (``DomainError``) keeps the
steps before it (the platform did take them) and the case records it in ``last_error``. When no declared transition
leads from the ticket's state to the platform's status (the merchant acted in the platform's back office in a way
kefu has no transition for), the case records the drift in ``last_error`` for reconciliation's report and the
staff; nothing is forced.

Lock order: the platform case row, then the ticket (tickets.locks), then the order's lines.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from connectors.base import CaseKind, CaseSnapshot, CaseStatus, Connector, fen_to_yuan
from connectors.models import PlatformCase, ShopConnection
from connectors.platforms import connector_for
from connectors.services.following import in_step, next_step
from kefu.core.errors import DomainError
from kefu.core.prepared import PreparedQuery
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
    """Apply ``snapshot`` (see the module docstring). ``connector`` fetches an unknown order (built when needed).

    A snapshot already applied (the pull's overlap, a push and a pull of one change) costs one unlocked read:
    staleness is final (only a newer snapshot is ever applied, so a row that is as new stays as new), and the
    locked read is taken only when there is something to apply.
    """
    lookup = {"platform": connection.platform, "connection": connection, "case_id": snapshot.case_id}
    seen = next(
        iter(_case_seen.instances(platform=connection.platform, connection_id=connection.pk, case_id=snapshot.case_id)),
        None,
    )
    if seen is not None and not snapshot.is_newer_than(seen.modified_at, seen.version):
        return IngestResult(seen, "stale")
    with transaction.atomic():
        case, new = _case_locked(connection, snapshot, lookup, exists=seen is not None)
        if not new and not snapshot.is_newer_than(case.modified_at, case.version):
            return IngestResult(case, "stale")
        _case_apply(case, snapshot)
        if not snapshot.is_known:
            case.save()
            logger.warning(
                "%s case %s: unknown code %s/%s kept raw", case.platform, case.case_id, case.raw_type, case.raw_status
            )
            return IngestResult(case, "unknown")
        if case.ticket is None and new and snapshot.status in FINAL:
            case.save()  # history (a backfill): the case is known, no ticket is opened for it
            return IngestResult(case, "recorded")
        actor = Actor.platform(connection.platform)
        try:
            # Each ticket service is atomic on its own: a refusal leaves the steps before it (the order made, the
            # ticket opened, the transitions run), which the platform did take, and the case records where it
            # stopped (no savepoint around the whole: it would cost two statements per case).
            if case.ticket is None:
                ticket = case.ticket = _ticket_open(connection, snapshot, actor, connector)
                outcome = "created"
            else:
                ticket = ticket_platform_deadline_set(
                    ticket=case.ticket, due_at=snapshot.merchant_deadline, actor=actor
                )
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


# The read every ingestion starts with (most pulled snapshots stop there), on the unique constraint's index:
# composed once per process.
_case_seen = PreparedQuery(
    lambda platform, connection_id, case_id: PlatformCase.objects.filter(
        platform=platform, connection_id=connection_id, case_id=case_id
    )[:1],
    platform="\x1f platform \x1f",
    connection_id=-7_301_301,
    case_id="\x1f stand-in \x1f",
)


def _case_locked(
    connection: ShopConnection, snapshot: CaseSnapshot, lookup: dict[str, Any], *, exists: bool
) -> tuple[PlatformCase, bool]:
    """The case's row, locked (with its ticket's common row read, not locked: ``ticket_lock`` locks it next, in
    the order of tickets.locks); ``True`` when this call created it (with the snapshot's fields)."""
    locked = PlatformCase.objects.select_for_update(of=("self",)).select_related("ticket")
    if exists:
        return locked.get(**lookup), False
    try:
        with transaction.atomic():  # the race of two first sights: the unique constraint decides
            case = PlatformCase(**lookup)
            _case_apply(case, snapshot)
            case.save(force_insert=True)
            return case, True
    except IntegrityError:  # another worker saw it first: wait for its row
        return locked.get(**lookup), False


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


def _order_for(
    connection: ShopConnection, snapshot: CaseSnapshot, connector: Connector | None
) -> tuple[Order, set[str]]:
    """The case's order in kefu and its SKUs; fetched from the platform and created when kefu has not seen it."""
    order = Order.objects.filter(shop_id=connection.shop_id, number=snapshot.order_id).first()
    if order is not None:
        return order, set(order.lines.values_list("sku", flat=True))
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
    # order_upsert leaves the order with the payload's lines (or refuses): no need to read them back.
    return order_upsert(shop=connection.shop, data=data).order, {line.sku for line in data.lines}


def _ticket_open(
    connection: ShopConnection, snapshot: CaseSnapshot, actor: Actor, connector: Connector | None
) -> Ticket:
    order, skus = _order_for(connection, snapshot, connector)
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
