"""A buyer's profile in a shop: which buyer rows it covers, and its figures, computed from the tickets.

``profile_for_buyer`` links a buyer row to its profile by the digests of its phone and email (a buyer who wrote
from two channels with one number is one profile); ``profile_refresh`` recomputes every figure in a fixed number
of aggregate queries whatever the buyer's history (no query per ticket), then ``flags_evaluate``
(risk.services.flags) raises or clears the buyer's flags. Both run in a Celery task after a ticket's change
commits (risk.receivers), and nightly for every profile (risk.tasks), never on the request path.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from orders.models import ZERO, Buyer, OrderLine
from risk.identity import buyer_digests
from risk.models import BuyerIdentity, BuyerProfile, FlagCode, RiskFlag
from risk.services.flags import Figures, flags_evaluate
from risk.threats import threatening
from tickets.actors import ActorKind
from tickets.models import EventType, Kind, Refund, RefundStatus, Ticket, TicketEvent

WINDOWS = (30, 90, 365)
FEN = Decimal("0.01")


def profile_for_buyer(*, buyer: Buyer) -> BuyerProfile:
    """The buyer's profile, created or joined: a buyer whose phone or email digest another buyer row of the shop
    already has joins that row's profile. Digests are recomputed, so a changed phone number moves the row."""
    digests = buyer_digests(buyer)
    with transaction.atomic():
        identity = BuyerIdentity.objects.select_for_update().filter(buyer=buyer).select_related("profile").first()
        contact = Q(pk__in=[])
        if digests.phone:
            contact |= Q(phone_digest=digests.phone)
        if digests.email:
            contact |= Q(email_digest=digests.email)
        sibling = (
            BuyerIdentity.objects.filter(contact, shop_id=buyer.shop_id).exclude(buyer=buyer).order_by("pk").first()
        )
        if sibling is not None:
            profile = sibling.profile
        elif identity is not None and identity.profile.key in (digests.phone, digests.email, digests.platform):
            profile = identity.profile
        else:
            kind, key = digests.primary()
            profile, _created = BuyerProfile.objects.get_or_create(
                shop_id=buyer.shop_id, key=key, defaults={"identity_kind": kind}
            )
        if identity is None:
            BuyerIdentity.objects.create(
                buyer=buyer,
                shop_id=buyer.shop_id,
                phone_digest=digests.phone,
                email_digest=digests.email,
                profile=profile,
            )
        elif (identity.profile_id, identity.phone_digest, identity.email_digest) != (
            profile.pk,
            digests.phone,
            digests.email,
        ):
            identity.profile = profile
            identity.phone_digest = digests.phone
            identity.email_digest = digests.email
            identity.save(update_fields=["profile", "phone_digest", "email_digest"])
    return profile


def profile_buyer_ids(profile: BuyerProfile) -> QuerySet[BuyerIdentity, Any]:
    """The buyer rows of the profile, as a subquery (never read into Python)."""
    return BuyerIdentity.objects.filter(profile=profile).values("buyer_id")


def _since(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)


def refund_counted() -> Q:
    """A refund that moved or is moving money: every one but a failed one."""
    return ~Q(status=RefundStatus.FAILED)


def profile_figures(profile: BuyerProfile, *, now: datetime) -> Figures:
    """The profile's figures: five aggregate queries whatever the history's size."""
    buyers = profile_buyer_ids(profile)
    year = _since(now, 365)
    tickets = Ticket.objects.filter(buyer_id__in=buyers, created_at__gte=year)
    # A return cancelled by the buyer after a refund on the same order: the money came, the goods stayed.
    refunded_before = Refund.objects.filter(
        refund_counted(), ticket__order_id=OuterRef("order_id"), created_at__lt=OuterRef("closed_at")
    )
    ticket_counts = tickets.aggregate(
        **{f"tickets_{d}d": Count("pk", filter=Q(created_at__gte=_since(now, d))) for d in WINDOWS},
        **{f"returns_{d}d": Count("pk", filter=Q(kind=Kind.RETURN, created_at__gte=_since(now, d))) for d in WINDOWS},
        refund_only_90d=Count("pk", filter=Q(returnticket__refund_only=True, created_at__gte=_since(now, 90))),
        refund_only_365d=Count("pk", filter=Q(returnticket__refund_only=True)),
        cancelled_after_refund=Count("pk", filter=Q(Exists(refunded_before), kind=Kind.RETURN, state="cancelled")),
    )
    refunds = Refund.objects.filter(refund_counted(), ticket__buyer_id__in=buyers, created_at__gte=year).aggregate(
        **{f"refunds_{d}d": Count("pk", filter=Q(created_at__gte=_since(now, d))) for d in WINDOWS},
        refunded_amount=Sum("amount"),
    )
    ordered = OrderLine.objects.filter(order__buyer_id__in=buyers, order__paid_at__gte=year).aggregate(
        ordered_amount=Sum("paid_amount")
    )
    # The buyer's words: each ticket's description and the buyer's own comments on it (two reads, scanned here).
    texts: list[tuple[int, str]] = list(tickets.exclude(description="").order_by().values_list("pk", "description"))
    texts += (
        TicketEvent.objects.filter(
            ticket__buyer_id__in=buyers,
            created_at__gte=year,
            event_type=EventType.COMMENT,
            actor_kind=ActorKind.BUYER,
        )
        .order_by()
        .values_list("ticket_id", "reason")
    )
    threats = threatening(sorted(texts))
    reuses = RiskFlag.objects.filter(profile=profile, code=FlagCode.EVIDENCE_REUSE, cleared_at__isnull=True).count()
    values: dict[str, Any] = {
        **ticket_counts,
        **{key: value for key, value in refunds.items() if key != "refunded_amount"},
        # In fen: SQLite's SUM drops the trailing zeros, and the flags' facts show these amounts.
        "refunded_amount": Decimal(refunds["refunded_amount"] or ZERO).quantize(FEN),
        "ordered_amount": Decimal(ordered["ordered_amount"] or ZERO).quantize(FEN),
        "review_threats_365d": len(threats),
        "evidence_reuses": reuses,
    }
    return Figures(values=values, threat_phrase=next(iter(threats.values()), ""))


def profile_refresh(*, profile: BuyerProfile, now: datetime | None = None) -> BuyerProfile:
    """Recompute the profile's figures and its flags (risk.services.flags), in one transaction."""
    now = now or timezone.now()
    with transaction.atomic():
        figures = profile_figures(profile, now=now)
        for name, value in figures.values.items():
            setattr(profile, name, Decimal(value) if isinstance(value, Decimal) else value)
        profile.computed_at = now
        profile.save(update_fields=[*figures.values, "computed_at"])
        flags_evaluate(profile=profile, figures=figures, now=now)
    return profile


def buyer_profile_refresh(*, buyer_id: int, now: datetime | None = None) -> BuyerProfile | None:
    """Link the buyer to its profile and recompute that profile (the task after a ticket's change)."""
    buyer = Buyer.objects.filter(pk=buyer_id).first()
    if buyer is None:
        return None
    return profile_refresh(profile=profile_for_buyer(buyer=buyer), now=now)


def profiles_refresh_all(*, now: datetime | None = None) -> int:
    """Nightly: link every buyer with a ticket in the last year, then recompute every profile (windows move)."""
    now = now or timezone.now()
    recent = Ticket.objects.filter(created_at__gte=_since(now, 365)).values("buyer_id")
    unlinked = Buyer.objects.filter(pk__in=recent, risk_identity__isnull=True)
    for buyer in unlinked.iterator():
        profile_for_buyer(buyer=buyer)
    refreshed = 0
    for profile in BuyerProfile.objects.iterator():
        profile_refresh(profile=profile, now=now)
        refreshed += 1
    return refreshed
