"""Celery tasks of the risk app: ids in (a list: the publisher merges several commits' ids into one message),
services called, idempotent."""

from __future__ import annotations

from celery import shared_task

from risk.services.evidence import evidence_fingerprint, evidence_fingerprints_missing
from risk.services.fast_refunds import fast_refund_apply
from risk.services.profiles import buyer_profile_refresh, profiles_refresh_all
from tickets.models import Ticket


@shared_task(acks_late=True, ignore_result=True)
def refresh_buyer_profiles_task(buyer_ids: list[int]) -> None:
    """After tickets changed: their buyers' profiles and flags recomputed."""
    for buyer_id in dict.fromkeys(buyer_ids):
        buyer_profile_refresh(buyer_id=buyer_id)


@shared_task(acks_late=True, ignore_result=True)
def ticket_opened_task(ticket_ids: list[int]) -> None:
    """After returns opened: the buyer's profile first (its flags gate automation), then the fast-refund rules."""
    buyers = dict(Ticket.objects.filter(pk__in=ticket_ids).values_list("pk", "buyer_id"))
    for ticket_id in ticket_ids:
        if ticket_id in buyers:
            buyer_profile_refresh(buyer_id=buyers[ticket_id])
            fast_refund_apply(ticket_id=ticket_id)


@shared_task(acks_late=True, ignore_result=True)
def fingerprint_evidence_task(attachment_ids: list[int]) -> None:
    """After evidence photos were attached: their perceptual hashes, and any reuse flagged on both tickets."""
    for attachment_id in attachment_ids:
        evidence_fingerprint(attachment_id=attachment_id)


@shared_task(acks_late=True, ignore_result=True)
def refresh_all_profiles_task() -> int:
    """Nightly: every profile recomputed (the 30/90/365-day windows move even when nothing happens), after the
    photos a lost message left without a fingerprint are hashed."""
    evidence_fingerprints_missing()
    return profiles_refresh_all()
