"""``manage.py bench_notifications`` runs end to end on a small count and cleans up after itself."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command

from notifications.models import Notification
from orders.models import Shop

pytestmark = pytest.mark.django_db


def test_the_benchmark_reports_both_rates_and_their_ratio_and_leaves_nothing_behind() -> None:
    out = io.StringIO()
    call_command("bench_notifications", count=40, rounds=2, warmup=4, stdout=out)
    report = out.getvalue()
    plain = float(re.search(r"plain loop.*?:\s+([\d.]+) /s", report).group(1))
    relay = float(re.search(r"relay_pending.*?:\s+([\d.]+) /s", report).group(1))
    ratio = float(re.search(r"ratio relay / plain: ([\d.]+)", report).group(1))
    assert plain > 0 and relay > 0
    assert ratio == pytest.approx(relay / plain, abs=0.01)
    assert not Shop.objects.filter(code__startswith="bench-notify-").exists()
    assert not Notification.objects.exists()
