"""Starting an incident: one ticket per affected order, opened through the ticket core's opening services.

``incident_start`` only marks the incident running and hands the opening to the Celery task
``incidents.tasks.incident_open_tickets_task`` after its commit; the task calls ``incident_open_tickets``, which
opens the tickets a chunk of orders at a time (``KEFU_INCIDENT_CHUNK_SIZE``), each chunk in a short transaction of
its own. The periodic re-scan (``incident_rescan``, beat) runs the same function for every running incident, so
orders that start matching later get their ticket too.

Idempotency: each chunk takes the incident's row lock first (incidents.locks) and leaves out the orders that have
an ``IncidentTicket`` already; the unique constraint (incident, order) backs it. So starting twice, two workers at
once, widening the scope and re-scanning never open a second ticket for an order. An order that already has an
open ticket of the kind the incident would open (and no incident of its own) gets that ticket linked instead.

No network call happens in these transactions: the ticket core's notifications and webhooks leave through the
outbox after each commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from incidents.errors import IncidentClosed, IncidentInvalid
from incidents.locks import incident_lock
from incidents.messaging import incident_tell_schedule
from incidents.models import Incident, IncidentKind, IncidentOffer, IncidentStatus, IncidentTicket
from incidents.scope import incident_new_order_ids
from incidents.services.flags import incident_tickets_flag, platform_first
from incidents.wording import INCIDENT_ACTOR, incident_reason
from kefu.core.errors import DomainError
from orders.models import Order, Shipment, ShipmentDirection
from routing.services import assignee_batch
from tickets.actors import Actor
from tickets.models import EventType, Kind, Ticket
from tickets.services.engine import event_record
from tickets.services.opening import exchange_open, logistics_open
from tickets.types import LineRequest
from tickets.workflows import model_for_kind

logger = logging.getLogger(__name__)

# The logistics exception an incident's ticket records, by the incident's kind: a sold-out item or a platform's
# outage delays the parcel as a carrier's hub does; a recalled item is a damaged one (the buyer's goods are faulty).
EXCEPTION_TYPES: dict[str, str] = {
    IncidentKind.LOGISTICS_DELAY: "delayed",
    IncidentKind.PLATFORM_PROBLEM: "delayed",
    IncidentKind.OUT_OF_STOCK: "delayed",
    IncidentKind.QUALITY_RECALL: "damaged",
    IncidentKind.OTHER: "delayed",
}
# The reason of an incident's exchange ticket (tickets' default reason codes).
EXCHANGE_REASONS: dict[str, str] = {IncidentKind.QUALITY_RECALL: "quality_problem"}
EXCHANGE_REASON_DEFAULT = "other"


def incident_actor(incident: Incident) -> Actor:
    """The system actor an incident's tickets are opened and noted by (the timeline reads "incident")."""
    return Actor.system(INCIDENT_ACTOR)


def incident_ticket_kind(incident: Incident) -> str:
    """An exchange when the one thing offered is the exchange to the alternative SKU; a logistics exception else."""
    offers = list(incident.offers or [])
    return Kind.EXCHANGE if offers == [IncidentOffer.EXCHANGE] else Kind.LOGISTICS


def _as_actor(actor: Actor | AbstractBaseUser) -> Actor:
    return actor if isinstance(actor, Actor) else Actor.staff(actor)  # type: ignore[arg-type]


def incident_start(incident: Incident, actor: Actor | AbstractBaseUser) -> Incident:
    """Start ``incident`` (a draft, or a running one again after its scope was widened): running, then, after the
    commit, its tickets opened by ``incident_open_tickets_task``. Refuses a closed or incomplete incident.

    Idempotent: starting a running incident only queues the opening again, which opens tickets for the orders
    that have none yet. ``actor``: the staff member (an ``Actor`` or a user), recorded as who started it.
    """
    actor = _as_actor(actor)
    with transaction.atomic():
        locked = incident_lock(incident.pk)
        if locked.status == IncidentStatus.CLOSED:
            raise IncidentClosed(_("Incident “%(title)s” is closed.") % {"title": locked.title}, field="status")
        incident_check(locked)
        if locked.status == IncidentStatus.DRAFT:
            locked.status = IncidentStatus.RUNNING
            locked.started_at = timezone.now()
            locked.started_by = actor.user if actor.user is not None and actor.user.pk else None
            locked.save(update_fields=["status", "started_at", "started_by"])
        transaction.on_commit(lambda: _open_later(locked.pk), robust=True)
    incident.status, incident.started_at, incident.started_by_id = (
        locked.status,
        locked.started_at,
        locked.started_by_id,
    )
    return locked


def incident_check(incident: Incident) -> None:
    """``Incident.clean`` as a domain refusal: the first error's message, naming its field."""
    from django.core.exceptions import ValidationError

    try:
        incident.clean()
    except ValidationError as exc:
        errors = exc.message_dict
        field_name, messages = next(iter(errors.items()))
        raise IncidentInvalid(" ".join(messages), field=field_name) from exc


def _open_later(incident_id: int) -> None:
    """Queue the opening; a broker that cannot be reached leaves it to the periodic re-scan."""
    try:
        incident_open_tickets_task.delay(incident_id)
    except Exception:  # the re-scan (beat) opens them within KEFU_INCIDENT_RESCAN_SECONDS
        logger.exception("incident %s: queuing the opening failed; the re-scan will open its tickets", incident_id)


@dataclass
class OpenResult:
    """What one run of ``incident_open_tickets`` did."""

    opened: int = 0
    linked: int = 0
    flagged: int = 0
    skipped: list[str] = field(default_factory=list)

    def add(self, other: OpenResult) -> None:
        self.opened += other.opened
        self.linked += other.linked
        self.flagged += other.flagged
        self.skipped.extend(other.skipped)


def incident_open_tickets(incident: Incident, *, chunk_size: int | None = None) -> OpenResult:
    """Open (or link) the tickets of every order the running incident's scope matches that has none yet.

    A chunk of ``chunk_size`` orders per transaction, each under the incident's row lock; a closed or draft
    incident opens nothing. An order the opening service refuses (nothing left to return, …) is skipped with its
    reason and tried again at the next run. Then the buyers are told (incidents.messaging).
    """
    size = chunk_size or int(settings.KEFU_INCIDENT_CHUNK_SIZE)
    result = OpenResult()
    if incident.status != IncidentStatus.RUNNING:
        return result
    order_ids = incident_new_order_ids(incident)
    for start in range(0, len(order_ids), size):
        chunk = _open_chunk(incident.pk, order_ids[start : start + size])
        if chunk is None:  # closed meanwhile
            break
        result.add(chunk)
    if result.opened or result.linked:
        incident_tell_schedule(incident)  # the buyers are told at the incident's rate (incidents.messaging)
    return result


def _outbound_shipments(order_ids: Sequence[int]) -> dict[int, Shipment]:
    """The latest outbound shipment of each order."""
    shipments: dict[int, Shipment] = {}
    rows = Shipment.objects.filter(order_id__in=order_ids, direction=ShipmentDirection.OUTBOUND).order_by("pk")
    for shipment in rows:
        shipments[shipment.order_id] = shipment
    return shipments


def _open_tickets_to_link(kind: str, order_ids: Sequence[int]) -> dict[int, Ticket]:
    """Open tickets of ``kind`` of the orders that no incident has, locked (tickets before order lines and routing
    rows: tickets.locks' order), the oldest per order."""
    model = model_for_kind(kind)
    of = ("self", *(link.name for link in model._meta.parents.values()))
    found: dict[int, Ticket] = {}
    tickets = (
        model.objects.select_for_update(of=of)
        .select_related("shop", "buyer", "assignee")
        .filter(order_id__in=order_ids, closed_at__isnull=True, incident_link__isnull=True)
        .order_by("pk")
    )
    for ticket in tickets:
        found.setdefault(ticket.order_id, ticket)
    return found


def _open_one(incident: Incident, kind: str, order: Order, shipment: Shipment | None, note: dict) -> Ticket:
    actor = incident_actor(incident)
    with translation.override(settings.LANGUAGE_CODE):
        description = _("Incident “%(title)s”") % {"title": incident.title}
    if kind == Kind.EXCHANGE:
        skus = set(incident.skus or [])
        lines = [
            LineRequest(sku=line.sku, quantity=line.quantity)
            for line in order.lines.all()
            if not skus or line.sku in skus
        ]
        return exchange_open(
            order=order,
            actor=actor,
            lines=lines,
            reason_code=EXCHANGE_REASONS.get(incident.kind, EXCHANGE_REASON_DEFAULT),
            replacement_sku=incident.alternative_sku,
            description=description,
            merchant_offer=True,
            note=note,
        )
    return logistics_open(
        order=order,
        actor=actor,
        exception_type=EXCEPTION_TYPES.get(incident.kind, "delayed"),
        shipment=shipment,
        description=description,
        note=note,
    )


def _open_chunk(incident_id: int, order_ids: Sequence[int]) -> OpenResult | None:
    """One transaction: the incident locked, then this chunk's orders without a ticket of it opened or linked."""
    result = OpenResult()
    with transaction.atomic():
        incident = incident_lock(incident_id)
        if incident.status != IncidentStatus.RUNNING:
            return None
        taken = set(
            IncidentTicket.objects.filter(incident_id=incident_id, order_id__in=order_ids).values_list(
                "order_id", flat=True
            )
        )
        todo = [pk for pk in order_ids if pk not in taken]
        if not todo:
            return result
        kind = incident_ticket_kind(incident)
        existing = _open_tickets_to_link(kind, todo)
        shipments = _outbound_shipments(todo)
        orders = Order.objects.select_related("shop", "buyer").filter(pk__in=todo).order_by("pk")
        if kind == Kind.EXCHANGE:
            orders = orders.prefetch_related("lines")
        _text, opened_payload = incident_reason("incident_opened", title=incident.title, incident=incident.pk)
        # quiet: no "ticket created" message to the buyer or the department (notifications.services): the buyer
        # hears of the incident through its own notice, at its rate.
        note = {"incident": incident.pk, "quiet": True, **opened_payload}
        now = timezone.now()
        links: list[IncidentTicket] = []
        linked: list[Ticket] = []
        with assignee_batch():  # the chunk's assignees chosen with one read of each department's load
            for order in orders:
                ticket = existing.get(order.pk)
                if ticket is not None:
                    linked.append(ticket)
                else:
                    # The opening services write inside a savepoint of their own (transaction.atomic) and refuse
                    # before writing: one refused order leaves the chunk's others (no second savepoint needed here).
                    try:
                        ticket = _open_one(incident, kind, order, shipments.get(order.pk), note)
                    except DomainError as exc:
                        result.skipped.append(f"{order.number}: {exc.message}")
                        continue
                    result.opened += 1
                links.append(
                    IncidentTicket(
                        incident=incident, order=order, buyer_id=order.buyer_id, ticket=ticket, created_at=now
                    )
                )
        IncidentTicket.objects.bulk_create(links)
        _note_linked(incident, linked, now)
        result.linked = len(linked)
        result.flagged = incident_tickets_flag(incident, platform_first(incident, linked), now=now)
    if result.skipped:
        logger.warning("incident %s: %s orders skipped: %s", incident_id, len(result.skipped), result.skipped[:5])
    return result


def _note_linked(incident: Incident, tickets: Sequence[Ticket], now: datetime) -> None:
    if not tickets:
        return
    text, payload = incident_reason("incident_linked", title=incident.title, incident=incident.pk)
    actor = incident_actor(incident)
    for ticket in tickets:
        event_record(
            ticket=ticket,
            actor=actor,
            event_type=EventType.COMMENT,
            reason=text,
            public=False,
            payload={"incident": incident.pk, **payload},
            at=now,
        )


def incident_rescan() -> OpenResult:
    """Open the tickets of orders that started matching a running incident's scope since its last run (beat)."""
    result = OpenResult()
    for incident in Incident.objects.filter(status=IncidentStatus.RUNNING).prefetch_related("shops").order_by("pk"):
        result.add(incident_open_tickets(incident))
    return result


# The tasks (registered under incidents.tasks' names, where beat and the workers know them): ids in, idempotent.


@shared_task(name="incidents.tasks.incident_open_tickets_task", acks_late=True, ignore_result=True)
def incident_open_tickets_task(incident_id: int) -> dict:
    """Open the tickets of a started incident's affected orders, a chunk per transaction (safe to run twice)."""
    incident = Incident.objects.prefetch_related("shops").filter(pk=incident_id).first()
    if incident is None:
        return {"opened": 0, "linked": 0, "flagged": 0, "skipped": 0}
    result = incident_open_tickets(incident)
    return {"opened": result.opened, "linked": result.linked, "flagged": result.flagged, "skipped": len(result.skipped)}


@shared_task(name="incidents.tasks.incident_rescan_task", acks_late=True, ignore_result=True)
def incident_rescan_task() -> dict:
    """Beat (KEFU_INCIDENT_RESCAN_SECONDS): tickets for orders that started matching a running incident since."""
    result = incident_rescan()
    return {"opened": result.opened, "linked": result.linked, "flagged": result.flagged, "skipped": len(result.skipped)}
