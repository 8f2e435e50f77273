"""The demo's 回访 answers (desk.demo.satisfaction): on the demo's resolved tickets, deterministic, idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

from desk.demo.satisfaction import resolved_demo_tickets, satisfaction_answers
from quality.models import FollowUp, Survey

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings, tmp_path: Path) -> None:
    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", stdout=open("/dev/null", "w"))


def answers() -> list[tuple[str, int | None, str]]:
    return list(Survey.objects.order_by("ticket__number").values_list("ticket__number", "score", "comment"))


def test_every_resolved_demo_ticket_has_its_survey_and_most_are_answered(demo) -> None:
    resolved = resolved_demo_tickets()
    assert resolved
    surveys = Survey.objects.filter(ticket__in=resolved)
    assert surveys.count() == len(resolved)
    answered = surveys.filter(answered_at__isnull=False)
    assert answered.exists()
    for survey in answered:
        assert 1 <= survey.score <= 5
        assert survey.sent_at < survey.answered_at < survey.expires_at
    low = answered.filter(score__lte=2).count()
    assert FollowUp.objects.count() == low


def test_a_second_run_adds_nothing_and_the_answers_are_reproducible(demo) -> None:
    first = answers()
    follow_ups = FollowUp.objects.count()
    assert satisfaction_answers() == 0
    assert answers() == first
    assert FollowUp.objects.count() == follow_ups

    FollowUp.objects.all().delete()
    Survey.objects.update(score=None, comment="", answered_at=None)
    satisfaction_answers()
    assert answers() == first  # the same seed gives the same answers
