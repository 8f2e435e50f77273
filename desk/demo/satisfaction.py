"""The demo's 回访 answers: buyers of the demo's resolved tickets rate the service, so the figures page and the
follow-up list have something to show on first start.

Works on whatever resolved demo tickets exist when it runs (the scenarios, the 30 days of history): each gets
its survey (already written by quality.services when the ticket was resolved through the services; written
here, without a message, for a ticket that has none), and three buyers in four answer (every fourth ticket by
number is left unanswered), within a day and a half of the request, with a score leaning to the good side and
now and then a comment. Answers go through ``quality.services.survey_answer``, so a low score opens its
follow-up as in production.

Deterministic: each ticket's score and comment come from a random generator seeded with the seed and the
ticket's number, so the same tickets always get the same answers. Idempotent: an answered survey is left as it
is, so running it again adds only what is missing.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from desk.demo.setup import DEMO_SHOP_CODES
from quality.models import Survey
from quality.resolution import RESOLVED_STATES
from quality.services import survey_answer
from quality.tokens import valid_for
from tickets.models import Ticket

SEED = 15
SKIP_EVERY = 4
SCORES = (1, 2, 3, 4, 5)
SCORE_WEIGHTS = (4, 6, 12, 30, 48)
COMMENTS = {
    1: ["处理太慢了，等了好几天", "客服态度很差"],
    2: ["退款到账比说的晚", "问了好几次才有人回复"],
    3: ["还行，就是流程有点繁琐", ""],
    4: ["处理挺快的", "客服很耐心", ""],
    5: ["非常满意，很快就解决了", "客服小姐姐态度特别好", "退款秒到，点赞", ""],
}


def resolved_demo_tickets() -> list[Ticket]:
    resolved = Q()
    for kind, states in RESOLVED_STATES.items():
        resolved |= Q(kind=kind, state__in=sorted(states))
    return list(
        Ticket.objects.filter(resolved, shop__code__in=DEMO_SHOP_CODES, closed_at__isnull=False).order_by("number")
    )


def satisfaction_answers(*, seed: int = SEED) -> int:
    """Give the resolved demo tickets their surveys and answers; returns how many answers were added."""
    now = timezone.now()
    tickets = resolved_demo_tickets()
    surveys = {s.ticket_id: s for s in Survey.objects.filter(ticket__in=tickets)}
    added = 0
    for position, ticket in enumerate(tickets):
        survey = surveys.get(ticket.pk)
        if survey is None and ticket.closed_at is not None:
            survey = Survey.objects.create(
                ticket=ticket, language="zh-hans", sent_at=ticket.closed_at, expires_at=ticket.closed_at + valid_for()
            )
        if survey is None or survey.answered:
            continue
        if position % SKIP_EVERY == SKIP_EVERY - 1:  # one buyer in four does not answer
            continue
        rng = random.Random(f"{seed}:{ticket.number}")  # noqa: S311 -- demo data, reproducible on purpose
        score = rng.choices(SCORES, weights=SCORE_WEIGHTS)[0]
        comment = rng.choice(COMMENTS[score])
        answered_at = min(survey.sent_at + timedelta(minutes=rng.randrange(20, 36 * 60)), now)
        if answered_at >= survey.expires_at:
            continue
        survey_answer(survey_id=survey.pk, score=score, comment=comment, now=answered_at)
        added += 1
    return added
