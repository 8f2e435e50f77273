"""Evidence reuse: the same photo (or a resized, re-compressed, slightly cropped copy) on another order or buyer.

Each evidence image gets a 64-bit perceptual hash (imagehash's pHash: a DCT of the 32×32 grey image, robust to
resizing and compression) in a task after the upload commits (risk.tasks). Two photos whose hashes differ in at most
the shop's ``evidence_distance`` bits are taken for the same: when they sit on tickets of different orders (or
different buyers), both tickets are flagged, each flag naming the other ticket and the distance.

The comparison reads the shop's fingerprints of the last year in one query and compares them here: a few thousand
integers XOR-ed and counted is far cheaper than a query per photo, and works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import imagehash
from django.db import IntegrityError, transaction
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from risk.models import EvidenceFingerprint, FlagCode, RiskFlag
from risk.services.flags import flags_note, thresholds_for
from risk.services.profiles import profile_for_buyer
from tickets.models import Attachment, Ticket

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
LOOKBACK = timedelta(days=365)
BITS = 64


def _signed(value: int) -> int:
    """A 64-bit hash as PostgreSQL's bigint holds it (two's complement)."""
    return value - (1 << BITS) if value >= 1 << (BITS - 1) else value


def _unsigned(value: int) -> int:
    return value & ((1 << BITS) - 1)


def perceptual_hash(file: object) -> int:
    """The photo's pHash as a signed 64-bit integer. Raises ``UnidentifiedImageError`` for a file that is no image."""
    with Image.open(file) as image:  # type: ignore[arg-type]
        return _signed(int(str(imagehash.phash(image)), 16))


def hash_distance(first: int, second: int) -> int:
    """How many of the 64 bits differ (Hamming distance)."""
    return (_unsigned(first) ^ _unsigned(second)).bit_count()


@dataclass(frozen=True)
class Reuse:
    other_ticket_id: int
    distance: int


def evidence_fingerprint(*, attachment_id: int) -> EvidenceFingerprint | None:
    """Hash an evidence image once and flag any reuse (the task after an upload). None for other files."""
    attachment = Attachment.objects.select_related("ticket").filter(pk=attachment_id).first()
    if attachment is None or attachment.content_type not in IMAGE_TYPES:
        return None
    existing = EvidenceFingerprint.objects.filter(attachment_id=attachment_id).first()
    if existing is not None:
        return existing
    try:
        with attachment.file.open("rb") as file:
            phash = perceptual_hash(file)
    except (UnidentifiedImageError, OSError):
        return None  # a file the sniffing let through but Pillow cannot read: nothing to compare
    ticket = attachment.ticket
    try:
        with transaction.atomic():
            fingerprint = EvidenceFingerprint.objects.create(
                attachment=attachment, ticket=ticket, shop_id=ticket.shop_id, phash=phash
            )
            evidence_reuse_flag(fingerprint=fingerprint)
    except IntegrityError:  # the task ran twice at once: the other run hashed and compared it
        return EvidenceFingerprint.objects.filter(attachment_id=attachment_id).first()
    return fingerprint


def evidence_reuses(*, fingerprint: EvidenceFingerprint, ticket: Ticket, distance: int) -> list[Reuse]:
    """Tickets of the shop (last year) with a photo within ``distance`` of this one, on another order or buyer."""
    candidates = (
        EvidenceFingerprint.objects.filter(shop_id=fingerprint.shop_id, created_at__gte=timezone.now() - LOOKBACK)
        .exclude(ticket_id=ticket.pk)
        .values_list("ticket_id", "ticket__order_id", "ticket__buyer_id", "phash")
    )
    best: dict[int, int] = {}
    for other_id, order_id, buyer_id, phash in candidates:
        if order_id == ticket.order_id and buyer_id == ticket.buyer_id:
            continue  # the same order's own tickets (an exchange turned into a return) may show the same photo
        apart = hash_distance(fingerprint.phash, phash)
        if apart <= distance and apart < best.get(other_id, BITS + 1):
            best[other_id] = apart
    return [Reuse(other, apart) for other, apart in sorted(best.items())]


def evidence_reuse_flag(*, fingerprint: EvidenceFingerprint) -> list[RiskFlag]:
    """Flag this photo's ticket and every ticket it reuses a photo of (both sides). Caller holds the transaction."""
    ticket = Ticket.objects.select_related("order", "buyer", "shop").get(pk=fingerprint.ticket_id)
    reuses = evidence_reuses(
        fingerprint=fingerprint, ticket=ticket, distance=thresholds_for(ticket.shop_id).evidence_distance
    )
    if not reuses:
        return []
    others = Ticket.objects.select_related("order", "buyer", "shop", "assignee").in_bulk(
        [r.other_ticket_id for r in reuses]
    )
    raised: list[RiskFlag] = []
    for reuse in reuses:
        other = others[reuse.other_ticket_id]
        for flagged, about in ((ticket, other), (other, ticket)):
            flag = _flag_pair(flagged, about, reuse.distance)
            if flag is not None:
                raised.append(flag)
                if flagged.closed_at is None:
                    flags_note(tickets=[flagged], flags=[flag])
    return raised


def _flag_pair(flagged: Ticket, about: Ticket, distance: int) -> RiskFlag | None:
    if RiskFlag.objects.filter(
        ticket=flagged, related_ticket=about, code=FlagCode.EVIDENCE_REUSE, cleared_at__isnull=True
    ).exists():
        return None
    profile = profile_for_buyer(buyer=flagged.buyer)
    return RiskFlag.objects.create(
        profile=profile,
        ticket=flagged,
        related_ticket=about,
        code=FlagCode.EVIDENCE_REUSE,
        params={"order": about.order.number, "ticket": about.number, "distance": distance},
    )


def evidence_fingerprints_missing(*, limit: int = 5000) -> int:
    """Hash the last year's evidence photos that have no fingerprint (their task's message was lost)."""
    missing = (
        Attachment.objects.filter(
            content_type__in=IMAGE_TYPES,
            created_at__gte=timezone.now() - LOOKBACK,
            risk_fingerprint__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(evidence_fingerprint(attachment_id=pk) is not None for pk in list(missing))
