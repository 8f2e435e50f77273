"""回访: asking the buyer after a resolution, recording the answer, and the supervisors' follow-up of a low one.

- ``survey_event_received`` subscribes to the ticket core's ``ticket_event_recorded`` (QualityConfig.ready): a
  transition into a resolution state (quality.resolution) calls ``survey_request`` in the change's transaction.
- ``survey_request`` writes the ticket's one ``Survey`` (a second resolution, after a complaint's reopen, finds
  it and sends nothing) and the buyer's message through the outbox (notifications.messages), with the signed
  link, in the buyer's language; the outbox delivers it after the commit (no network I/O here).
- ``survey_answer`` records the buyer's one answer under the survey's row lock; an answer at or below
  ``KEFU_SURVEY_LOW_SCORE`` opens the survey's one ``FollowUp`` and tells the supervisors, in the same
  transaction.
- ``follow_up_close`` marks a follow-up done (the admin's action).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.config import notification_config
from notifications.messages import buyer_recipients, department_recipients, ticket_message_enqueue
from notifications.models import Audience, Event
from notifications.rendering import local_time
from quality.models import SCORES, FollowUp, FollowUpStatus, Survey
from quality.resolution import is_resolution
from quality.tokens import survey_url, valid_for
from tickets.models import Ticket, TicketEvent

COMMENT_MAX = 2000


class SurveyRefused(Exception):
    """An answer that cannot be taken; ``str()`` is the buyer's message in the active language."""


class SurveyAlreadyAnswered(SurveyRefused):
    pass


class SurveyExpired(SurveyRefused):
    pass


class SurveyInvalidAnswer(SurveyRefused):
    pass


def low_score() -> int:
    return int(settings.KEFU_SURVEY_LOW_SCORE)


def _buyer_language(ticket: Ticket) -> str:
    prefs = notification_config.get().shop_channels.get(ticket.shop_id)
    return prefs.language if prefs is not None else settings.LANGUAGE_CODE


def survey_request(*, ticket: Ticket, at: datetime | None = None) -> Survey | None:
    """Ask the buyer of a just-resolved ticket for their satisfaction, once per ticket (caller's transaction).

    Returns the new survey, or None when the ticket already has one. The survey row is written even when the
    shop reaches its buyers through no channel (nothing is sent then; the figures count only answers).
    """
    at = at or timezone.now()
    if Survey.objects.filter(ticket_id=ticket.pk).exists():
        return None
    survey = Survey.objects.create(
        ticket_id=ticket.pk, language=_buyer_language(ticket), sent_at=at, expires_at=at + valid_for()
    )
    ticket_message_enqueue(
        ticket=ticket,
        message_event=Event.SATISFACTION_REQUEST,
        recipients=buyer_recipients(ticket),
        scope=f"survey:{survey.pk}",
        at=at,
        extra={"survey_url": survey_url(survey.pk), "survey_expires": local_time(survey.expires_at)},
    )
    return survey


def survey_event_received(sender: type, *, event: TicketEvent, ticket: Ticket, **kwargs: Any) -> None:
    """The receiver of ``tickets.signals.ticket_event_recorded``: a resolution asks for the buyer's answer."""
    if event.event_type == "transition" and is_resolution(ticket.kind, event.to_state):
        survey_request(ticket=ticket, at=event.created_at)


def _score(value: Any) -> int:
    try:
        score = int(value)
    except (TypeError, ValueError):
        score = 0
    if score not in SCORES:
        raise SurveyInvalidAnswer(_("Please choose a score from 1 to 5."))
    return score


def survey_answer(*, survey_id: int, score: Any, comment: str = "", now: datetime | None = None) -> Survey:
    """Record the buyer's answer: once, before the link expires. Locks the survey's row.

    Raises SurveyInvalidAnswer (no score 1–5, or a comment over 2,000 characters), SurveyExpired,
    SurveyAlreadyAnswered; then nothing is written. A low score opens the follow-up (``follow_up_open``).
    """
    now = now or timezone.now()
    score = _score(score)
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise SurveyInvalidAnswer(_("Please keep the comment under 2,000 characters."))
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey_id)
        if survey.answered:
            raise SurveyAlreadyAnswered(_("Thank you, we already have your answer for this request."))
        if survey.expires_at <= now:
            raise SurveyExpired(_("This link has expired."))
        survey.score = score
        survey.comment = comment
        survey.answered_at = now
        survey.save(update_fields=["score", "comment", "answered_at"])
        if score <= low_score():
            follow_up_open(survey=survey, at=now)
    return survey


def follow_up_open(*, survey: Survey, at: datetime | None = None) -> FollowUp | None:
    """Open the survey's follow-up for the supervisors and tell them, once (caller's transaction).

    Returns the new follow-up, or None when the survey already has one.
    """
    at = at or timezone.now()
    follow_up, created = FollowUp.objects.get_or_create(
        survey=survey, defaults={"ticket_id": survey.ticket_id, "created_at": at}
    )
    if not created:
        return None
    ticket = Ticket.objects.select_related("order", "shop", "buyer").get(pk=survey.ticket_id)
    ticket_message_enqueue(
        ticket=ticket,
        message_event=Event.LOW_SATISFACTION,
        recipients=department_recipients("supervisors", Audience.SUPERVISORS),
        scope=f"low-satisfaction:{survey.pk}",
        at=at,
        extra={"score": survey.score, "comment": survey.comment},
    )
    return follow_up


def follow_up_close(*, follow_up: FollowUp, user: AbstractBaseUser, note: str = "") -> FollowUp:
    """Mark a follow-up done (a done one stays as it is)."""
    with transaction.atomic():
        locked = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
        if locked.status == FollowUpStatus.DONE:
            return locked
        locked.status = FollowUpStatus.DONE
        locked.done_at = timezone.now()
        locked.done_by_id = user.pk
        if note:
            locked.note = note
        locked.save(update_fields=["status", "done_at", "done_by", "note"])
    return locked
