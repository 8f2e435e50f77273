"""Keeping kefu in step with the platforms: the push inbox, the incremental pull, reconciliation, backfill.

- ``push_receive``: a verified push is stored (``InboxMessage``, one row per message id: a duplicate push is
  stored once) and handed to ``process_inbox_task`` after the commit; the view answers at once.
- ``inbox_process``: each stored message → the case's detail fetched → ``case_ingest``. A transient or
  rate-limited failure is retried with backoff; a permanent one is kept with its error and raises the alarm:
  an error log (Sentry), ``kefu_connector_inbox_failed`` on /metrics, a warning on the connections' admin page
  and the inbox admin's "failed" filter, where ``inbox_retry`` puts it back in line.
- ``connection_pull``: the connection's cursor forward, page by page (the cursor is saved after each page, so a
  failure resumes where it stopped); its health figures (last pull, lag, error rate) on the connection.
- ``connection_reconcile``: every open case of the connection fetched and ingested (repairs a lost push); a
  write-back that died of retries while the platform still waits for it is sent again; one ``Reconciliation``
  row says what was checked and repaired.
- ``connection_backfill``: a date range pulled window by window, without touching the connection's cursor.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from connectors.base import BadSignature, CaseStatus, PushMessage
from connectors.commands import ErrorKind, PlatformError
from connectors.models import InboxMessage, PlatformCase, Reconciliation, ShopConnection, WriteBack, WriteBackStatus
from connectors.platforms import connector_class, connector_for
from connectors.services.ingest import case_ingest
from connectors.services.writeback import backoff_seconds, writeback_resend
from connectors.tokens import token_renew
from kefu.core.outbound import mask_secrets

logger = logging.getLogger(__name__)

INBOX_LEASE = timedelta(minutes=2)


class UnknownConnection(Exception):
    """A push for a shop no active connection of that platform has (answered 404)."""


# -- pushes ----------------------------------------------------------------------------------------------


def push_receive(*, platform: str, headers: Mapping[str, str], body: bytes) -> list[InboxMessage]:
    """Verify a pushed request and store its messages; raises ``BadSignature`` / ``UnknownConnection``.

    Stored rows are committed before the caller answers the platform; processing happens after the commit.
    """
    cls = connector_class(platform)
    try:
        shop_id = cls.push_shop_id(headers, body)
    except (ValueError, KeyError, TypeError) as exc:
        raise BadSignature("unreadable body") from exc
    connection = ShopConnection.objects.filter(platform=platform, external_id=shop_id, active=True).first()
    if connection is None:
        raise UnknownConnection(shop_id)
    try:
        messages = cls(connection).verify_push(headers, body)
    except (ValueError, KeyError, TypeError) as exc:
        raise BadSignature("unreadable body") from exc
    inbox_store(connection=connection, messages=messages)
    return list(InboxMessage.objects.filter(platform=platform, message_id__in=[m.message_id for m in messages]))


def inbox_store(*, connection: ShopConnection, messages: Sequence[PushMessage]) -> None:
    """Store verified messages of ``connection`` (a message id seen before is not stored again) and hand them
    to ``process_inbox_task`` after the commit. The HTTP push and the bridges (``connectors.bridges``) call it."""
    platform = connection.platform
    with transaction.atomic():
        InboxMessage.objects.bulk_create(
            [
                InboxMessage(
                    platform=platform,
                    connection=connection,
                    message_id=m.message_id[:128],
                    topic=m.topic[:128],
                    case_id=m.case_id[:64],
                    payload=dict(m.raw),
                )
                for m in messages
            ],
            ignore_conflicts=True,  # at least once: a message id seen before is not stored again
        )
        transaction.on_commit(_hand_inbox_over, robust=True)


def _hand_inbox_over() -> None:
    current_app.tasks["connectors.tasks.process_inbox_task"].apply_async(retry=False)


@dataclass
class InboxResult:
    processed: int = 0
    retried: int = 0
    failed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


def inbox_process(*, limit: int = 200, now: datetime | None = None) -> InboxResult:
    """Process stored pushes that are due, oldest first (each claimed first, so two workers never share one)."""
    now = now or timezone.now()
    result = InboxResult()
    ids = list(
        InboxMessage.objects.filter(processed_at__isnull=True, next_attempt_at__lte=now)
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        claimed = InboxMessage.objects.filter(pk=pk, processed_at__isnull=True, next_attempt_at__lte=now).update(
            next_attempt_at=now + INBOX_LEASE, attempts=F("attempts") + 1
        )
        if not claimed:
            continue
        message = InboxMessage.objects.select_related("connection", "connection__shop").get(pk=pk)
        try:
            if message.connection is None or not message.case_id:
                raise PlatformError(ErrorKind.PERMANENT, "no_case", "the message names no case")
            connector = connector_for(message.connection)
            outcome = case_ingest(
                connection=message.connection, snapshot=connector.fetch(message.case_id), connector=connector
            ).outcome
        except PlatformError as exc:
            error = mask_secrets(f"{exc.kind}: {exc.code}: {exc.message}")[:2000]
            if exc.retryable and message.attempts < settings.KEFU_CONNECTOR_MAX_ATTEMPTS:
                delay = backoff_seconds(message.attempts, at_least=exc.retry_after)
                InboxMessage.objects.filter(pk=pk).update(error=error, next_attempt_at=now + timedelta(seconds=delay))
                result.retried += 1
            else:
                InboxMessage.objects.filter(pk=pk).update(error=error, processed_at=timezone.now())
                logger.error("push %s of %s dead: %s", message.message_id, message.platform, error)
                result.failed += 1
            continue
        InboxMessage.objects.filter(pk=pk).update(processed_at=timezone.now(), error="")
        result.processed += 1
        result.outcomes[outcome] = result.outcomes.get(outcome, 0) + 1
    return result


def inbox_retry(*, ids: Sequence[int]) -> int:
    """Put given-up messages back in line, now, with fresh attempts (the admin's "process again", once the cause
    is fixed: a connection's credentials, a platform outage). Returns how many were put back."""
    count = InboxMessage.objects.filter(InboxMessage.FAILED, pk__in=ids).update(
        processed_at=None, attempts=0, next_attempt_at=timezone.now()
    )
    if count:
        transaction.on_commit(_hand_inbox_over, robust=True)
    return count


# -- pulls -----------------------------------------------------------------------------------------------


@dataclass
class PullResult:
    pages: int = 0
    cases: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    error: str = ""
    busy: bool = False


Progress = Callable[[int, datetime | None], None]


def _pages(
    connection: ShopConnection,
    cursor: str,
    *,
    until: datetime | None,
    max_pages: int,
    save_cursor: bool,
    progress: Progress | None = None,
    keep: Callable[[], bool] | None = None,
) -> PullResult:
    connector = connector_for(connection)
    result = PullResult()
    until = until or timezone.now()  # one end for the whole run: the pull catches up to it, then stops
    while result.pages < max_pages:
        page = connector.pull(cursor, until=until)
        for snapshot in page.snapshots:
            outcome = case_ingest(connection=connection, snapshot=snapshot, connector=connector).outcome
            result.outcomes[outcome] = result.outcomes.get(outcome, 0) + 1
        result.cases += len(page.snapshots)
        result.pages += 1
        cursor = page.next_cursor
        if save_cursor:
            ShopConnection.objects.filter(pk=connection.pk).update(pull_cursor=cursor)
        if progress is not None:
            progress(len(page.snapshots), max((s.modified_at for s in page.snapshots), default=None))
        if not page.has_more:
            break
        if keep is not None and not keep():  # the pull's lease ran out and another pull took it: that one goes on
            result.busy = True
            break
    return result


def connection_pull(*, connection_id: int, max_pages: int = 50, until: datetime | None = None) -> PullResult:
    """Pull the connection's changes since its cursor. One pull per connection at a time: a lease on the
    connection's row (``pull_lease``), taken and renewed by single UPDATEs, so no transaction is open while the
    platform is called; a pull that finds the lease held by another returns ``busy``."""
    lease = uuid.uuid4().hex
    if not _pull_lease(connection_id, lease, take=True):
        return PullResult(busy=True)
    try:
        connection = ShopConnection.objects.select_related("shop").get(pk=connection_id)
        cursor = connection.pull_cursor
        try:
            if connection.token_expires_soon():
                connection = connection_token_refresh(connection=connection)
            result = _pages(
                connection,
                cursor,
                until=until,
                max_pages=max_pages,
                save_cursor=True,
                keep=lambda: _pull_lease(connection_id, lease),
            )
        except PlatformError as exc:
            error = mask_secrets(f"{exc.kind}: {exc.code}: {exc.message}")[:2000]
            ShopConnection.objects.filter(pk=connection_id).update(
                pulls=F("pulls") + 1, pull_errors=F("pull_errors") + 1, last_pull_error=error
            )
            logger.warning("pull of %s failed: %s", connection, error)
            return PullResult(error=error)
        ShopConnection.objects.filter(pk=connection_id).update(
            pulls=F("pulls") + 1, last_pull_at=timezone.now(), last_pull_error=""
        )
        return result
    finally:
        ShopConnection.objects.filter(pk=connection_id, pull_lease=lease).update(pull_lease="", pull_leased_until=None)


def _pull_lease(connection_id: int, lease: str, *, take: bool = False) -> bool:
    """Take (``take``: only when free or run out) or renew (only while still ours) the pull's lease."""
    now = timezone.now()
    rows = ShopConnection.objects.filter(pk=connection_id)
    if take:
        rows = rows.filter(Q(pull_leased_until__isnull=True) | Q(pull_leased_until__lte=now))
    else:
        rows = rows.filter(pull_lease=lease)
    until = now + timedelta(seconds=settings.KEFU_CONNECTOR_PULL_LEASE_SECONDS)
    return rows.update(pull_lease=lease, pull_leased_until=until) == 1


def connection_token_refresh(*, connection: ShopConnection) -> ShopConnection:
    """Refresh the connection's access token and store the new grant (encrypted). Raises ``PlatformError``."""
    token_renew(connector_for(connection))  # renews ``connection`` itself (the connector holds it)
    return connection


def connection_backfill(
    *, connection_id: int, since: datetime, until: datetime, progress: Progress | None = None
) -> PullResult:
    """Pull every case modified between ``since`` and ``until`` (the connection's cursor is left alone)."""
    connection = ShopConnection.objects.select_related("shop").get(pk=connection_id)
    cursor = connector_for(connection).cursor_at(since)
    return _pages(connection, cursor, until=until, max_pages=10**9, save_cursor=False, progress=progress)


# -- reconciliation --------------------------------------------------------------------------------------

OPEN_ON_PLATFORM = [
    s.value for s in CaseStatus if s not in (CaseStatus.CLOSED, CaseStatus.REFUNDED, CaseStatus.UNKNOWN)
]


def connection_reconcile(*, connection_id: int, limit: int = 1000) -> Reconciliation:
    """Compare the connection's open cases with the platform and repair what drifted (module docstring)."""
    connection = ShopConnection.objects.select_related("shop").get(pk=connection_id)
    connector = connector_for(connection)
    report = Reconciliation.objects.create(connection=connection)
    cases = (
        PlatformCase.objects.filter(connection=connection)
        .filter(Q(ticket__closed_at__isnull=True, ticket__isnull=False) | Q(status__in=OPEN_ON_PLATFORM))
        .order_by("pk")[:limit]
    )
    for case in cases:
        report.checked += 1
        try:
            result = case_ingest(connection=connection, snapshot=connector.fetch(case.case_id), connector=connector)
        except PlatformError as exc:
            report.errors += 1
            report.details.append({"case": case.case_id, "error": f"{exc.code}: {exc.message}"[:300]})
            continue
        if result.outcome != "stale":
            report.repaired += 1
            report.details.append({"case": case.case_id, "repaired": result.outcome, "ran": list(result.transitions)})
        if result.case.status in OPEN_ON_PLATFORM:
            dead = (
                WriteBack.objects.filter(case=case, status=WriteBackStatus.DEAD)
                .exclude(last_error__startswith="permanent")
                .order_by("-pk")
                .first()
            )
            if dead is not None:
                writeback_resend(writeback_id=dead.pk)
                report.resent += 1
                report.details.append({"case": case.case_id, "resent": dead.command})
    report.finished_at = timezone.now()
    report.save()
    return report
