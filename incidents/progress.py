"""An incident's progress figures, for its page (rendered live by the admin) and the API.

Four queries whatever the incident's size (tests/incidents/test_progress.py counts them at two sizes): the
affected orders' counts with their tickets joined, the refunds, the compensation payouts, and the further
complaints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from incidents.models import Incident, IncidentOffer, IncidentTicket
from kefu.core.vocabulary import Kind, LogisticsState
from payments.models import CompensationPayout
from tickets.models import Refund, RefundStatus, Ticket, WaitingOn
from tickets.payments import PayoutStatus

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class IncidentProgress:
    matched: int  # affected orders (one ticket each)
    told: int  # buyers sent the incident's notice
    answered: int
    answers: dict[str, int] = field(default_factory=dict)  # per offer: wait, exchange, refund
    # Tickets ended (nobody acts any more) or resolved and waiting only for the buyer's confirmation.
    resolved: int = 0
    refunded_amount: Decimal = ZERO  # refunds paid for the tickets, and for the refund-only returns they opened
    compensation_paid: Decimal = ZERO  # compensation payouts that succeeded
    complained: int = 0  # affected buyers who opened a complaint after the incident started
    closing_told: int = 0  # buyers sent the closing message
    platform_flagged: int = 0  # tickets whose platform clock runs out before the incident's timeline

    @property
    def told_share(self) -> float:
        return self.told / self.matched if self.matched else 0.0


def incident_progress(incident: Incident) -> IncidentProgress:
    """The figures now (read committed: each query sees what was committed when it ran)."""
    affected = IncidentTicket.objects.filter(incident_id=incident.pk)
    resolved = Q(ticket__waiting_on=WaitingOn.NOBODY) | Q(
        ticket__kind=Kind.LOGISTICS, ticket__state=LogisticsState.RESOLVED
    )
    counts = affected.aggregate(
        matched=Count("pk"),
        told=Count("pk", filter=Q(told_at__isnull=False)),
        answered=Count("pk", filter=Q(answered_at__isnull=False)),
        resolved=Count("pk", filter=resolved),
        closing_told=Count("pk", filter=Q(closing_told_at__isnull=False)),
        platform_flagged=Count("pk", filter=Q(platform_flagged_at__isnull=False)),
        **{f"answer_{offer}": Count("pk", filter=Q(answer=offer)) for offer in IncidentOffer.values},
    )
    of_incident = Q(ticket__incident_link__incident_id=incident.pk)
    refunded = Refund.objects.filter(
        of_incident | Q(ticket__origin__incident_link__incident_id=incident.pk), status=RefundStatus.SUCCEEDED
    ).aggregate(total=Coalesce(Sum("amount"), ZERO))["total"]
    paid = CompensationPayout.objects.filter(of_incident, status=PayoutStatus.SUCCEEDED).aggregate(
        total=Coalesce(Sum("amount"), ZERO)
    )["total"]
    complained = 0
    if incident.started_at is not None:
        complained = (
            Ticket.objects.filter(
                kind=Kind.COMPLAINT,
                created_at__gte=incident.started_at,
                buyer_id__in=affected.values("buyer_id"),
            )
            .values("buyer_id")
            .distinct()
            .count()
        )
    return IncidentProgress(
        matched=counts["matched"],
        told=counts["told"],
        answered=counts["answered"],
        answers={offer: counts[f"answer_{offer}"] for offer in IncidentOffer.values},
        resolved=counts["resolved"],
        refunded_amount=refunded,
        compensation_paid=paid,
        complained=complained,
        closing_told=counts["closing_told"],
        platform_flagged=counts["platform_flagged"],
    )
