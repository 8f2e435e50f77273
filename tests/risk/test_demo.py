"""The demo shows risk control at once: a serial returner and a reused photo, flagged (issue 14's Done-when)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from risk.models import FastRefundRule, FlagCode, RiskFlag
from risk.selectors import ticket_flags
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings, tmp_path) -> None:
    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_the_demo_has_a_flagged_serial_returner_and_a_reused_photo(demo) -> None:
    flagged = {
        (flag.profile.shop.code, flag.code)
        for flag in RiskFlag.objects.filter(cleared_at=None).select_related("profile__shop")
    }
    assert ("demo-taobao", FlagCode.SERIAL_RETURNER) in flagged
    assert ("demo-taobao", FlagCode.REVIEW_THREAT) in flagged
    assert ("demo-jd", FlagCode.EVIDENCE_REUSE) in flagged
    zhou = Ticket.objects.filter(buyer__external_id="tb_zhou_tuitui").first()
    assert zhou is not None
    assert {flag.code for flag in ticket_flags(zhou)} >= {"serial_returner", "refund_only_abuse", "review_threat"}
    reused = Ticket.objects.filter(risk_flags__code=FlagCode.EVIDENCE_REUSE).distinct()
    assert reused.count() == 2 and len({t.buyer_id for t in reused}) == 2
    assert FastRefundRule.objects.filter(shop__code="demo-own", enabled=False).exists()
