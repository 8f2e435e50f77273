"""Pull a connection's cases modified in a date range, with a progress bar (the connection's cursor is left alone).

    python manage.py connectors_backfill --connection 3 --since 2026-11-01 --until 2026-12-01

``--connection`` is the connection's id or its shop id on the platform. Dates are local (Asia/Shanghai) days or
ISO times; ``--until`` defaults to now. Idempotent: a case seen before is skipped (ingestion's ordering guard).
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from datetime import time as day_start
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from connectors.commands import PlatformError
from connectors.models import ShopConnection
from connectors.services.sync import connection_backfill


def moment(text: str) -> datetime:
    value = parse_datetime(text)
    if value is None:
        day = parse_date(text)
        if day is None:
            raise CommandError(f"not a date or time: {text!r}")
        value = datetime.combine(day, day_start())
    return timezone.make_aware(value) if timezone.is_naive(value) else value


class ProgressBar:
    """``[#####.....]  48% 1,204 cases  2026-11-15 13:00`` on one line of stderr, by time covered."""

    def __init__(self, since: datetime, until: datetime, stream: Any = sys.stderr, width: int = 30) -> None:
        self.since, self.until, self.stream, self.width = since, until, stream, width
        self.cases = 0
        self.started = time.monotonic()

    def __call__(self, cases: int, reached: datetime | None) -> None:
        self.cases += cases
        span = (self.until - self.since).total_seconds() or 1.0
        done = min(1.0, max(0.0, ((reached or self.since) - self.since).total_seconds() / span))
        filled = int(done * self.width)
        at = f"{timezone.localtime(reached):%Y-%m-%d %H:%M}" if reached else ""
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done:4.0%} {self.cases:,} cases  {at}")
        self.stream.flush()

    def finish(self) -> None:
        elapsed = time.monotonic() - self.started
        self.stream.write(f"\r[{'#' * self.width}] 100% {self.cases:,} cases in {elapsed:.1f}s\n")


class Command(BaseCommand):
    help = "Pull a connection's after-sales cases modified between --since and --until."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--connection", required=True, help="connection id, or the shop's id on the platform")
        parser.add_argument("--since", required=True, type=moment)
        parser.add_argument("--until", type=moment, default=None)

    def handle(self, *args: Any, connection: str, since: datetime, until: datetime | None, **options: Any) -> None:
        found = ShopConnection.objects.filter(external_id=connection)
        if connection.isdigit():
            found = found | ShopConnection.objects.filter(pk=int(connection))
        target = found.first()
        if target is None:
            raise CommandError(f"no connection {connection!r}")
        until = until or timezone.now()
        if until <= since:
            raise CommandError("--until must be after --since")
        bar = ProgressBar(since, until, stream=self.stderr._out)
        try:
            result = connection_backfill(connection_id=target.pk, since=since, until=until, progress=bar)
        except PlatformError as exc:
            raise CommandError(f"the platform refused: {exc.code}: {exc.message}") from exc
        bar.finish()
        outcomes = ", ".join(f"{name} {count}" for name, count in sorted(result.outcomes.items())) or "nothing"
        self.stdout.write(f"{target}: {result.cases} cases in {result.pages} pages ({outcomes})")
