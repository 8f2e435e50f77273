"""Evidence reuse on the shipped photos (tests/fixtures/risk/, made by tests/risk/make_images.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from risk.models import EvidenceFingerprint, FlagCode, RiskFlag, RiskPolicy
from risk.selectors import ticket_flags
from risk.services.evidence import evidence_fingerprint, hash_distance
from tests.factories.orders import BuyerFactory
from tests.risk.history import past_ticket, shop_and_buyer
from tickets.actors import Actor
from tickets.models import Attachment, Ticket
from tickets.services.timeline import ticket_evidence_attach

pytestmark = pytest.mark.django_db

PHOTOS = Path(__file__).resolve().parent.parent / "fixtures" / "risk"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path) -> Iterator[None]:
    settings.MEDIA_ROOT = tmp_path / "media"
    yield


def attach(ticket: Ticket, photo: str) -> Attachment:
    attachment = ticket_evidence_attach(
        ticket=ticket,
        actor=Actor.for_buyer(ticket.buyer),
        file=ContentFile((PHOTOS / f"{photo}.jpg").read_bytes(), name=f"{photo}.jpg"),
        original_name=f"{photo}.jpg",
        content_type="image/jpeg",
    )
    evidence_fingerprint(attachment_id=attachment.pk)  # what the task after the upload runs
    return attachment


def reuse_flags(ticket: Ticket) -> list[RiskFlag]:
    return list(RiskFlag.objects.filter(ticket=ticket, code=FlagCode.EVIDENCE_REUSE, cleared_at=None))


@pytest.mark.parametrize("copy", ["original", "resized", "cropped"])
def test_the_same_photo_on_another_buyers_order_flags_both_tickets(copy: str) -> None:
    shop, first_buyer = shop_and_buyer()
    first = past_ticket(first_buyer, days=3)
    second = past_ticket(BuyerFactory(shop=shop), days=1)
    attach(first, "original")

    attach(second, copy)

    [on_second] = reuse_flags(second)
    [on_first] = reuse_flags(first)
    assert on_second.params["ticket"] == first.number and on_second.params["order"] == first.order.number
    assert on_first.params["ticket"] == second.number
    assert on_first.params["distance"] == on_second.params["distance"] <= 10
    shown = ticket_flags(second)
    assert [flag.code for flag in shown] == ["evidence_reuse"]
    assert f"photo also on order {first.order.number} / ticket {first.number}" in shown[0].facts


def test_a_different_photo_is_not_flagged() -> None:
    shop, buyer = shop_and_buyer()
    first = past_ticket(buyer, days=3)
    second = past_ticket(BuyerFactory(shop=shop), days=1)
    attach(first, "original")
    attach(second, "different")
    assert reuse_flags(first) == reuse_flags(second) == []
    fingerprints = list(EvidenceFingerprint.objects.order_by("pk").values_list("phash", flat=True))
    assert hash_distance(*fingerprints) > 20


def test_the_same_photo_twice_on_one_ticket_or_order_is_not_reuse() -> None:
    _shop, buyer = shop_and_buyer()
    ticket = past_ticket(buyer, days=1)
    attach(ticket, "original")
    attach(ticket, "resized")
    assert reuse_flags(ticket) == []


def test_the_same_buyer_on_another_order_is_flagged_too() -> None:
    _shop, buyer = shop_and_buyer()
    first, second = past_ticket(buyer, days=20), past_ticket(buyer, days=1)
    attach(first, "original")
    attach(second, "resized")
    assert len(reuse_flags(first)) == len(reuse_flags(second)) == 1


def test_a_shop_with_a_stricter_distance_lets_the_cropped_copy_pass() -> None:
    shop, buyer = shop_and_buyer()
    RiskPolicy.objects.create(shop=shop, evidence_distance=2)
    first = past_ticket(buyer, days=3)
    second = past_ticket(BuyerFactory(shop=shop), days=1)
    attach(first, "original")
    attach(second, "cropped")
    assert reuse_flags(second) == []


def test_hashing_twice_is_idempotent_and_other_shops_are_not_compared() -> None:
    _shop, buyer = shop_and_buyer()
    _other_shop, stranger = shop_and_buyer()
    mine, theirs = past_ticket(buyer, days=2), past_ticket(stranger, days=1)
    attach(theirs, "original")
    attachment = attach(mine, "original")
    evidence_fingerprint(attachment_id=attachment.pk)
    assert EvidenceFingerprint.objects.filter(attachment=attachment).count() == 1
    assert reuse_flags(mine) == []
