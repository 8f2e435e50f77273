"""kefu's own ``manage.py check --deploy`` warnings: what runs the demo on one machine but not a real shop.

Each has a stable id (``kefu.W001`` …; docs/operations.md lists them with the production setting that clears
it) and a hint naming the setting to change. They are deploy checks (``check --deploy``), so development with
the demo's defaults stays quiet; silence one on purpose with ``SILENCED_SYSTEM_CHECKS``.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Tags, register
from django.core.checks import Warning as CheckWarning

from tickets.tasks import execute_refund_task

CONSOLE_SMS_PROVIDER = "notifications.channels.sms.ConsoleSmsProvider"
# Email backends that never reach a mailbox.
LOCAL_EMAIL_BACKENDS = frozenset(
    {
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
    }
)
LOCAL_CACHES = frozenset(
    {"django.core.cache.backends.locmem.LocMemCache", "django.core.cache.backends.dummy.DummyCache"}
)
# Transports whose unacknowledged messages come back after ``visibility_timeout`` (kombu's Redis and SQS).
VISIBILITY_TIMEOUT_SCHEMES = ("redis://", "rediss://", "redis+socket://", "sqs://")
# notifications.relay.backoff_seconds adds up to +20 % jitter to KEFU_NOTIFY_RETRY_MAX_SECONDS.
NOTIFY_JITTER = 1.2


def longest_countdown() -> float:
    """The longest delay, in seconds, with which kefu queues a Celery message (countdown or eta).

    A notification's retry (``deliver_notifications_task``, ``countdown=`` its backoff, jitter included) and a
    refund payment's retry (``execute_refund_task``, Celery's ``retry_backoff_max``). The worker holds such a
    message unacknowledged until it is due; a broker with a shorter visibility timeout hands it to another
    worker meanwhile, so it runs twice.
    """
    notify = float(settings.KEFU_NOTIFY_RETRY_MAX_SECONDS) * NOTIFY_JITTER
    refund = float(getattr(execute_refund_task, "retry_backoff_max", 0) or 0)
    return max(notify, refund)


def _warning(check_id: str, msg: str, hint: str) -> CheckWarning:
    return CheckWarning(msg, hint=hint, id=check_id)


@register(Tags.database, deploy=True)
def check_database(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    engines = {db["ENGINE"] for db in settings.DATABASES.values()}
    if any(engine.endswith("sqlite3") for engine in engines):
        return [
            _warning(
                "kefu.W001",
                "The database is SQLite: one writer at a time and no row locks, for the demo on one machine only.",
                "Set DATABASE_URL=postgres://user:password@host:5432/kefu (PostgreSQL 13+).",
            )
        ]
    return []


@register(deploy=True)
def check_broker(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    broker = str(settings.CELERY_BROKER_URL)
    found: list[CheckMessage] = []
    if broker.startswith(("filesystem://", "memory://")):
        found.append(
            _warning(
                "kefu.W002",
                f"The Celery broker is {broker.split('://')[0]}://: messages live in one machine's folders (or in "
                "one process), so workers on other machines never see them.",
                "Set CELERY_BROKER_URL=redis://host:6379/0 (Redis 6+).",
            )
        )
    if broker.startswith(VISIBILITY_TIMEOUT_SCHEMES):
        options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}
        timeout = float(options.get("visibility_timeout", 3600))  # kombu's default
        longest = longest_countdown()
        if timeout <= longest:
            found.append(
                _warning(
                    "kefu.W008",
                    f"The broker's visibility timeout ({timeout:.0f} s) is not longer than the longest delay kefu "
                    f"queues a task with ({longest:.0f} s: a notification's or a refund's retry): such a message is "
                    "handed to a second worker before it is due and runs twice.",
                    f"Set CELERY_VISIBILITY_TIMEOUT above {longest:.0f} (e.g. {int(longest * 1.5)}), or lower "
                    "KEFU_NOTIFY_RETRY_MAX_SECONDS.",
                )
            )
    return found


@register(deploy=True)
def check_messaging(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    found: list[CheckMessage] = []
    if settings.KEFU_SMS_PROVIDER == CONSOLE_SMS_PROVIDER:
        found.append(
            _warning(
                "kefu.W003",
                "SMS go to the console (ConsoleSmsProvider): buyers receive no text messages.",
                "Set KEFU_SMS_PROVIDER to a real provider's class (docs/notifications.md) with its credentials.",
            )
        )
    if settings.EMAIL_BACKEND in LOCAL_EMAIL_BACKENDS:
        found.append(
            _warning(
                "kefu.W004",
                f"Email is not sent ({settings.EMAIL_BACKEND.rsplit('.', 2)[-2]} backend): staff receive no mail.",
                "Set EMAIL_URL=smtp+tls://user:password@host:587 and DEFAULT_FROM_EMAIL.",
            )
        )
    return found


@register(deploy=True)
def check_evidence_storage(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    backend = settings.STORAGES["default"]["BACKEND"]
    if backend == "django.core.files.storage.FileSystemStorage" and not getattr(
        settings, "KEFU_EVIDENCE_PRIVATE_SERVING", False
    ):
        return [
            _warning(
                "kefu.W005",
                f"Evidence files are stored on local disk under MEDIA_ROOT ({settings.MEDIA_ROOT}); a web server "
                f"that publishes that folder at MEDIA_URL ({settings.MEDIA_URL}) shows buyers' photos to anyone "
                "who has a link, and the files exist on one machine only.",
                "Use object storage (django-storages, see docs/operations.md), or make sure no web server serves "
                "MEDIA_ROOT (evidence goes only through kefu's authenticated view) and then set "
                "KEFU_EVIDENCE_PRIVATE_SERVING=true.",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_outbound(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if getattr(settings, "KEFU_OUTBOUND_ALLOW_PRIVATE", False):
        return [
            _warning(
                "kefu.W006",
                "Outgoing requests (webhooks, group robots) may reach private, loopback and link-local addresses "
                "(KEFU_OUTBOUND_ALLOW_PRIVATE): a webhook URL could read internal services or cloud metadata.",
                "Unset KEFU_OUTBOUND_ALLOW_PRIVATE (it is for local development only).",
            )
        ]
    return []


@register(Tags.caches, deploy=True)
def check_cache(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    backend = settings.CACHES["default"]["BACKEND"]
    if backend in LOCAL_CACHES:
        return [
            _warning(
                "kefu.W007",
                f"The cache is per process ({backend.rsplit('.', 1)[-1]}): each web worker counts API throttles on "
                "its own, and a configuration change or a revoked key is seen by the other processes only when "
                "their snapshots expire.",
                "Set CACHE_URL=redis://host:6379/1.",
            )
        ]
    return []


@register(deploy=True)
def check_public_base_url(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The satisfaction link goes out by SMS, email and webhook: an address only this machine knows is useless."""
    base = getattr(settings, "KEFU_PUBLIC_BASE_URL", "")
    host = (urlsplit(base).hostname or "").lower()
    if host in {"", "localhost", "127.0.0.1", "::1", "0.0.0.0"} or host.endswith(".localhost"):  # noqa: S104
        return [
            _warning(
                "kefu.W010",
                f"KEFU_PUBLIC_BASE_URL is {base!r}: the satisfaction requests (回访) sent to buyers carry links to "
                "this address, which no buyer's phone can open.",
                "Set KEFU_PUBLIC_BASE_URL to the public address of kefu's web server, e.g. https://kefu.example.com.",
            )
        ]
    return []


@register()
def check_renamed_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A variable kefu read before and no longer does: a deployment that still sets it would be silently ignored."""
    if os.environ.get("KEFU_PAYMENT_GATEWAY"):
        return [
            _warning(
                "kefu.W009",
                "KEFU_PAYMENT_GATEWAY is set but no longer read: refunds go through the gateway of each order's "
                "payment provider (issue 14), and a refund with no provider waits in the finance queue.",
                'Remove it; name provider gateways in KEFU_PAYMENT_GATEWAYS (JSON, e.g. {"alipay": "…"}).',
            )
        ]
    return []
