"""Raising and clearing a buyer's flags from the profile's figures, against the shop's thresholds.

A flag raised is noted on each of the buyer's open tickets (an internal timeline entry, code ``risk_flagged``):
the notification outbox turns that entry into a message to the ticket's department and the supervisors, and
the ticket's page shows it. A flag whose facts no longer hold is cleared (``cleared_at``), never deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings

from orders.models import Shop
from risk.models import BuyerProfile, FlagCode, RiskFlag, RiskPolicy
from risk.wording import risk_reason
from tickets.actors import Actor
from tickets.models import Ticket
from tickets.services.timeline import ticket_note_record

RISK_ACTOR = "risk control"


@dataclass(frozen=True)
class Figures:
    """A profile's figures as risk.services.profiles computes them (field name → value), and the first bad-review
    phrase found (the threat flag quotes it)."""

    values: dict[str, Any]
    threat_phrase: str


@dataclass(frozen=True)
class Thresholds:
    serial_returns_30d: int
    refund_only_90d: int
    review_threats_365d: int
    evidence_distance: int


def thresholds_for(shop: Shop | int) -> Thresholds:
    """The shop's thresholds: its policy's, each empty one the site's default (KEFU_RISK_*)."""
    shop_id = shop if isinstance(shop, int) else shop.pk
    policy = RiskPolicy.objects.filter(shop_id=shop_id).first()

    def pick(name: str, default: int) -> int:
        value = getattr(policy, name, None) if policy is not None else None
        return default if value is None else int(value)

    return Thresholds(
        serial_returns_30d=pick("serial_returns_30d", settings.KEFU_RISK_SERIAL_RETURNS_30D),
        refund_only_90d=pick("refund_only_90d", settings.KEFU_RISK_REFUND_ONLY_90D),
        review_threats_365d=pick("review_threats_365d", settings.KEFU_RISK_REVIEW_THREATS_365D),
        evidence_distance=pick("evidence_distance", settings.KEFU_RISK_EVIDENCE_DISTANCE),
    )


def buyer_flags_due(profile: BuyerProfile, figures: Figures, limits: Thresholds) -> dict[str, dict[str, Any]]:
    """The buyer-wide flags the figures raise, each with the facts that raised it (its parameters)."""
    values = figures.values
    due: dict[str, dict[str, Any]] = {}
    if limits.serial_returns_30d and values["returns_30d"] >= limits.serial_returns_30d:
        due[FlagCode.SERIAL_RETURNER] = {
            "returns": values["returns_30d"],
            "days": 30,
            "threshold": limits.serial_returns_30d,
        }
    if limits.refund_only_90d and values["refund_only_90d"] >= limits.refund_only_90d:
        due[FlagCode.REFUND_ONLY_ABUSE] = {
            "count": values["refund_only_90d"],
            "days": 90,
            "threshold": limits.refund_only_90d,
            "refunded": str(values["refunded_amount"]),
            "ordered": str(values["ordered_amount"]),
        }
    if limits.review_threats_365d and values["review_threats_365d"] >= limits.review_threats_365d:
        due[FlagCode.REVIEW_THREAT] = {
            "count": values["review_threats_365d"],
            "threshold": limits.review_threats_365d,
            "phrase": figures.threat_phrase,
        }
    return due


def flags_evaluate(*, profile: BuyerProfile, figures: Figures, now: datetime) -> list[RiskFlag]:
    """Raise the buyer-wide flags now due, refresh the facts of those still due, clear the others; note the new
    ones on the buyer's open tickets. Returns the flags raised now. Caller holds the transaction."""
    due = buyer_flags_due(profile, figures, thresholds_for(profile.shop_id))
    open_flags = {f.code: f for f in RiskFlag.objects.filter(profile=profile, ticket__isnull=True, cleared_at=None)}
    raised = []
    for code, params in due.items():
        existing = open_flags.get(code)
        if existing is None:
            raised.append(RiskFlag.objects.create(profile=profile, code=code, params=params, raised_at=now))
        elif existing.params != params:
            existing.params = params
            existing.save(update_fields=["params"])
    gone = [flag.pk for code, flag in open_flags.items() if code not in due]
    if gone:
        RiskFlag.objects.filter(pk__in=gone).update(cleared_at=now)
    if raised:
        open_tickets = Ticket.objects.filter(
            buyer_id__in=profile.identities.values("buyer_id"), closed_at__isnull=True
        ).select_related("shop", "order", "buyer", "assignee")
        flags_note(tickets=open_tickets, flags=raised)
    return raised


def flags_note(*, tickets: Iterable[Ticket], flags: list[RiskFlag]) -> None:
    """Note newly raised flags on each ticket's timeline (staff only): its department and supervisors hear of it."""
    if not flags:
        return
    shown = [{"code": flag.code, "params": flag.params} for flag in flags]
    reason, payload = risk_reason("risk_flagged", flags=shown)
    for ticket in tickets:
        ticket_note_record(
            ticket=ticket.as_kind(), actor=Actor.system(RISK_ACTOR), reason=reason, reason_payload=payload
        )
