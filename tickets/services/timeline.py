"""Comments and evidence: changes that are not transitions but are on the timeline (assignment: assignment.py)."""

from __future__ import annotations

import uuid

from django.core.files.base import File
from django.db import transaction
from django.utils.translation import gettext as _

from tickets.actors import Actor, ActorKind
from tickets.errors import FieldRequired, NotPermitted, ValidationFailed
from tickets.models import Attachment, EventType, Ticket, TicketEvent
from tickets.services.engine import event_record

MAX_COMMENT_LENGTH = 5000
EVIDENCE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "video/mp4"})
# The stored file's extension comes from the type established from the content, never from the uploaded
# name: a PNG-headed file named "x.html" must not be served as HTML by whatever serves MEDIA_ROOT.
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "video/mp4": ".mp4"}


def _check_party(ticket: Ticket, actor: Actor) -> None:
    if actor.kind == ActorKind.BUYER and (actor.buyer is None or actor.buyer.pk != ticket.buyer_id):
        raise NotPermitted(_("Ticket %(number)s belongs to another buyer.") % {"number": ticket.number})


def ticket_comment_add(*, ticket: Ticket, actor: Actor, body: str, public: bool = True) -> TicketEvent:
    """Add a comment to the timeline. Internal comments (``public=False``) are for staff only."""
    _check_party(ticket, actor)
    body = (body or "").strip()
    if not body:
        raise FieldRequired(_("A comment needs some text."), field="body")
    if len(body) > MAX_COMMENT_LENGTH:
        raise ValidationFailed(
            _("A comment is at most %(limit)s characters.") % {"limit": MAX_COMMENT_LENGTH}, field="body"
        )
    if not public and actor.kind == ActorKind.BUYER:
        raise NotPermitted(_("Buyers cannot write internal notes."), field="public")
    with transaction.atomic():
        return event_record(ticket=ticket, actor=actor, event_type=EventType.COMMENT, reason=body, public=public)


def ticket_evidence_attach(
    *,
    ticket: Ticket,
    actor: Actor,
    file: File,
    original_name: str,
    content_type: str,
    public: bool = True,
) -> Attachment:
    """Store a piece of evidence through Django's storage API and note it on the timeline.

    ``content_type`` is what the caller established from the file's content (the API sniffs it).
    The file is written before the row; if writing the row fails the stored file is removed.
    """
    _check_party(ticket, actor)
    if content_type not in EVIDENCE_TYPES:
        raise ValidationFailed(
            _("Evidence must be one of %(types)s; got %(type)s.")
            % {"types": ", ".join(sorted(EVIDENCE_TYPES)), "type": content_type},
            code="unsupported_media_type",
            field="file",
        )
    if not file.size:
        raise ValidationFailed(_("The file is empty."), field="file")
    with transaction.atomic():
        attachment = Attachment(
            ticket_id=ticket.pk,
            original_name=original_name[:255],
            content_type=content_type,
            size=file.size,
            public=public,
            actor_kind=actor.kind,
            actor_name=actor.name[:200],
        )
        attachment.file.save(f"{uuid.uuid4().hex}{EXTENSIONS[content_type]}", file, save=False)
        try:
            attachment.save()
            event_record(
                ticket=ticket,
                actor=actor,
                event_type=EventType.EVIDENCE,
                public=public,
                payload={"attachment": attachment.pk, "name": attachment.original_name, "type": content_type},
            )
        except Exception:
            attachment.file.delete(save=False)
            raise
    return attachment


def ticket_note_record(*, ticket: Ticket, actor: Actor, reason: str, reason_payload: dict) -> TicketEvent:
    """An internal note an automatic actor writes (a risk flag raised on the ticket): staff only, its reason kept
    as a code and parameters (tickets.wording) so every reader gets it in their own language."""
    with transaction.atomic():
        return event_record(
            ticket=ticket,
            actor=actor,
            event_type=EventType.COMMENT,
            reason=reason,
            public=False,
            payload=dict(reason_payload),
        )
