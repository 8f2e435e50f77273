"""The dashboard's figures: one aggregate query each, computed in the database, bounded whatever the data size.

Each selector is a GROUP BY that returns at most a few hundred rows (states × departments, days × kinds, the
top SKUs), so the page runs the same queries at 10 tickets and at 1,000,000. The indexes they use
(docs/performance.md, "Dashboard"):

- open tickets: ``ticket_open_idx``, partial on ``closed_at IS NULL`` over (kind, state, department,
  step_due_at): an index-only scan of the open tickets, closed history never read;
- SLA and step times: ``dashboard.sla.sla_summary`` over ``ticket_event_step_idx`` (the timeline entries that
  ended a step, by time), which holds every column the GROUP BY reads: an index-only scan of the period;
- volume per day: ``ticket_created_kind_idx`` (created_at, kind): an index-only range scan of the period;
- top reasons: the period's return and exchange tickets by ``created_at``, joined to their lines and SKUs.

"Overdue" means what the ticket list's filter means: the current step's deadline (``step_due_at``) has passed.
End states have no step deadline, so closed tickets are never overdue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import get_language

from dashboard.sla import sla_summary
from routing.models import Department
from tickets.models import Kind, ReasonCode, Ticket, TicketLine

PERIODS = (7, 30)
VOLUME_DAYS = 30
TOP_REASONS = 15
# Kinds whose tickets carry a buyer's reason and the SKUs sent back.
REASON_KINDS = (Kind.RETURN.value, Kind.EXCHANGE.value)


@dataclass(frozen=True)
class OpenCount:
    kind: str
    state: str
    department: str | None  # None: waiting on the buyer, or nobody's yet
    open: int
    overdue: int


@dataclass(frozen=True)
class StepFigures:
    """Steps that ended in the period, for one department or one state."""

    key: str
    steps: int
    met: int
    breached: int
    avg_seconds: int

    @property
    def met_percent(self) -> float | None:
        timed = self.met + self.breached
        return round(100 * self.met / timed, 1) if timed else None


@dataclass(frozen=True)
class SlaFigures:
    by_department: list[StepFigures]  # merchant departments only (buyer steps are not the desk's SLA)
    by_state: list[StepFigures]  # every step, the buyer's included, slowest first


@dataclass(frozen=True)
class DayVolume:
    day: datetime
    counts: dict[str, int]  # kind → tickets opened that day


@dataclass(frozen=True)
class ReasonBySku:
    sku: str
    name: str
    reason_code: str | None
    reason_label: str | None
    tickets: int
    returns: int
    exchanges: int
    quantity: int


def period_bounds(*, days: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The last ``days`` days up to now: [now - days, now)."""
    now = now or timezone.now()
    return now - timedelta(days=days), now


def open_tickets(*, now: datetime | None = None) -> list[OpenCount]:
    """Open tickets per (kind, state, department), with how many of them are overdue now. One query."""
    now = now or timezone.now()
    rows = (
        Ticket.objects.filter(closed_at__isnull=True)
        .values("kind", "state", "department")
        # COUNT(step_due_at) FILTER (…): a column of the index, so the scan stays index-only.
        .annotate(open=Count("*"), overdue=Count("step_due_at", filter=Q(step_due_at__lt=now)))
        .order_by("kind", "state", "department")
    )
    return [OpenCount(r["kind"], r["state"], r["department"] or None, r["open"], r["overdue"]) for r in rows]


def sla_figures(*, since: datetime, until: datetime) -> SlaFigures:
    """SLA met % per department and average time per state, for steps ended in [since, until). One query:
    ``sla_summary`` grouped by (department, state), summed up here per department and per state.
    """
    rows = sla_summary(since=since, until=until, group_by=("department", "state"))
    departments: dict[str, list[int]] = {}
    states: dict[str, list[int]] = {}
    for row in rows:
        # The group's average comes back rounded to the second; weighted by its steps it sums back to the
        # total seconds within a second per group.
        seconds = row["avg_seconds"] * row["steps"]
        for totals, key in ((departments, row["department"]), (states, row["state"])):
            total = totals.setdefault(key, [0, 0, 0, 0])
            total[0] += row["steps"]
            total[1] += row["met"]
            total[2] += row["breached"]
            total[3] += seconds

    def figures(key: str, total: list[int]) -> StepFigures:
        steps, met, breached, seconds = total
        return StepFigures(key, steps, met, breached, round(seconds / steps) if steps else 0)

    by_department = [figures(k, t) for k, t in sorted(departments.items()) if k]
    by_state = sorted((figures(k, t) for k, t in states.items()), key=lambda f: (-f.avg_seconds, f.key))
    return SlaFigures(by_department=by_department, by_state=by_state)


def volume_by_day(*, days: int = VOLUME_DAYS, now: datetime | None = None) -> list[DayVolume]:
    """Tickets opened per local day and kind over the last ``days`` days (today included), every day listed
    (zeros too). One query.
    """
    now = now or timezone.now()
    tz = timezone.get_current_timezone()
    today = timezone.localtime(now, tz).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=tz)
    rows = (
        Ticket.objects.filter(created_at__gte=since, created_at__lte=now)
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day", "kind")
        .annotate(n=Count("*"))
        .order_by("day", "kind")
    )
    counts: dict = {first + timedelta(days=i): dict.fromkeys(Kind.values, 0) for i in range(days)}
    for row in rows:
        if row["day"] in counts:
            counts[row["day"]][row["kind"]] = row["n"]
    return [DayVolume(day=day, counts=kinds) for day, kinds in counts.items()]


def top_reasons_by_sku(*, since: datetime, until: datetime, limit: int = TOP_REASONS) -> list[ReasonBySku]:
    """The (SKU, reason) pairs most often returned or exchanged in [since, until), by tickets opened then.

    ``tickets`` counts lines, which is tickets: a ticket has one line per order line and an order one line per
    SKU (both unique constraints), so a ticket is at most once in a (SKU, reason) group and needs no DISTINCT.
    ``quantity`` is the items. Two queries: the aggregate, grouped by the reason's id (grouping by the joined
    reason's labels made PostgreSQL sort 100,000+ wide rows on disk instead of hashing 5,000 groups; see
    docs/performance.md), then the reason codes (a small configuration table) for their labels.
    """
    rows = list(
        TicketLine.objects.filter(
            ticket__kind__in=REASON_KINDS, ticket__created_at__gte=since, ticket__created_at__lt=until
        )
        .values("order_line__sku", "ticket__reason_id")
        .annotate(
            tickets=Count("pk"),
            returns=Count("pk", filter=Q(ticket__kind=Kind.RETURN)),
            exchanges=Count("pk", filter=Q(ticket__kind=Kind.EXCHANGE)),
            quantity=Sum("quantity"),
            name=Max("order_line__name"),
        )
        .order_by("-tickets", "order_line__sku", "ticket__reason_id")[:limit]
    )
    english = (get_language() or "").startswith("en")
    reasons = {
        pk: (code, label_en if english else label_zh)
        for pk, code, label_zh, label_en in ReasonCode.objects.values_list("pk", "code", "label_zh", "label_en")
    }
    return [
        ReasonBySku(
            sku=r["order_line__sku"],
            name=r["name"] or "",
            reason_code=reasons.get(r["ticket__reason_id"], (None, None))[0],
            reason_label=reasons.get(r["ticket__reason_id"], (None, None))[1],
            tickets=r["tickets"],
            returns=r["returns"],
            exchanges=r["exchanges"],
            quantity=r["quantity"] or 0,
        )
        for r in rows
    ]


def department_names() -> dict[str, str]:
    """Department code → name (the admin's names; tickets hold codes). One query of a small table."""
    return dict(Department.objects.order_by("code").values_list("code", "name"))
