"""Reads of the risk app: a ticket's flags (its buyer's and its own), for one ticket or a page of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from risk.models import BuyerIdentity, BuyerProfile, RiskFlag
from risk.wording import flag_facts, flag_label
from tickets.models import Ticket


@dataclass(frozen=True)
class ShownFlag:
    """A flag as people read it: its code, its name and its facts in the active language, when it was raised."""

    code: str
    label: str
    facts: str
    params: dict[str, Any]
    raised_at: Any

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.label,
            "facts": self.facts,
            "params": self.params,
            "raised_at": self.raised_at,
        }


def open_flags() -> QuerySet[RiskFlag]:
    return RiskFlag.objects.filter(cleared_at__isnull=True)


def flagged_tickets_q() -> Q:
    """Tickets whose buyer has an open flag (a filter on ``Ticket``)."""
    flagged_profiles = open_flags().values("profile_id")
    return Q(buyer_id__in=BuyerIdentity.objects.filter(profile_id__in=flagged_profiles).values("buyer_id"))


def _shown(flag: RiskFlag) -> ShownFlag:
    return ShownFlag(flag.code, flag_label(flag.code), flag_facts(flag.code, flag.params), flag.params, flag.raised_at)


def flags_of_tickets(tickets: Sequence[Ticket]) -> dict[int, list[ShownFlag]]:
    """Each ticket's open flags: its buyer's and those on the ticket itself (an evidence reuse on another of the
    buyer's tickets counts for the buyer too). One query whatever the number of tickets."""
    buyer_ids = {ticket.buyer_id for ticket in tickets}
    if not buyer_ids:
        return {}
    rows = list(
        open_flags()
        .filter(profile__identities__buyer_id__in=buyer_ids)
        .values("profile__identities__buyer_id", "ticket_id", "code", "params", "raised_at", "pk")
        .order_by("raised_at", "pk")
    )
    by_buyer: dict[int, list[Any]] = {}
    for row in rows:
        by_buyer.setdefault(row["profile__identities__buyer_id"], []).append(row)
    found: dict[int, list[ShownFlag]] = {}
    for ticket in tickets:
        shown: list[ShownFlag] = []
        seen: set[str] = set()
        for row in by_buyer.get(ticket.buyer_id, []):
            # A buyer's other tickets' evidence reuse is listed once, by its kind, not once per photo.
            key = row["code"] if row["ticket_id"] != ticket.pk else f"{row['code']}:{row['pk']}"
            if key in seen:
                continue
            seen.add(key)
            flag = RiskFlag(code=row["code"], params=row["params"], raised_at=row["raised_at"])
            shown.append(_shown(flag))
        found[ticket.pk] = shown
    return found


def ticket_flags(ticket: Ticket) -> list[ShownFlag]:
    return flags_of_tickets([ticket]).get(ticket.pk, [])


def ticket_profile(ticket: Ticket) -> BuyerProfile | None:
    return BuyerProfile.objects.filter(identities__buyer_id=ticket.buyer_id).first()
