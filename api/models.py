"""API keys of storefront clients, staff users' API tokens, and the responses kept for Idempotency-Key retries."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.models import Shop

KEY_PREFIX = "kefu"


def hash_secret(secret: str) -> str:
    """SHA-256 of the key's secret part. Keys are 256-bit random, so a fast hash is safe here."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(models.Model):
    """A storefront's key for one shop. Only its hash is stored; the full key is shown once, at creation."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="api_keys", verbose_name=_("shop"))
    name = models.CharField(_("name"), max_length=100, help_text=_("Who uses it, e.g. 'storefront backend'."))
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    hashed_secret = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("created by"),
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["shop", "-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.masked})"

    @property
    def masked(self) -> str:
        """The key as staff may see it: the prefix, never the secret."""
        return f"{KEY_PREFIX}_{self.prefix}_…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def issue(cls, *, shop: Shop, name: str, created_by=None) -> tuple[ApiKey, str]:
        """Create a key; returns it and the full key text, which is never stored and cannot be shown again."""
        prefix = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        key = cls.objects.create(
            shop=shop, name=name, prefix=prefix, hashed_secret=hash_secret(secret), created_by=created_by
        )
        return key, f"{KEY_PREFIX}_{prefix}_{secret}"


class IdempotencyState(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")


class IdempotencyRecord(models.Model):
    """The first response to a POST with an Idempotency-Key, kept for retries until ``expires_at``."""

    client = models.CharField(max_length=64)  # "key:<id>" or "user:<id>": keys are scoped per client
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=IdempotencyState.choices, default=IdempotencyState.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "key"], name="idempotency_key_unique_per_client")]

    def __str__(self) -> str:
        return f"{self.client} {self.key} ({self.state})"


STAFF_TOKEN_PREFIX = "kefustaff"  # noqa: S105 - the tokens' fixed first part, not a secret


class StaffToken(models.Model):
    """A staff user's API token (``Authorization: Token kefustaff_<prefix>_<secret>``), for staff tools and machines.

    Like :class:`ApiKey`, only the secret's SHA-256 is stored and the whole token is shown once, when it is issued
    (the admin's message, ``manage.py staff_token issue``). It stops working at ``expires_at``
    (``KEFU_STAFF_TOKEN_TTL_HOURS`` after issue unless told otherwise), when it is revoked, or when its user is
    deactivated. Tokens are never deleted, so who issued and revoked which stays on record.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_tokens", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100, help_text=_("What uses it, e.g. 'carrier feed'."))
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    hashed_secret = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("created by"),
    )
    expires_at = models.DateTimeField(_("expires at"), editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("staff API token")
        verbose_name_plural = _("staff API tokens")
        ordering = ["user", "-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.masked})"

    @property
    def masked(self) -> str:
        return f"{STAFF_TOKEN_PREFIX}_{self.prefix}_…"

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at <= (now or timezone.now())

    @classmethod
    def issue(
        cls, *, user: Any, name: str, created_by: Any = None, hours: float | None = None
    ) -> tuple[StaffToken, str]:
        """Create a token for ``user``; returns it and the full token text, which is never stored."""
        prefix = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        ttl = timedelta(hours=settings.KEFU_STAFF_TOKEN_TTL_HOURS if hours is None else hours)
        now = timezone.now()
        token = cls.objects.create(
            user=user,
            name=name,
            prefix=prefix,
            hashed_secret=hash_secret(secret),
            created_at=now,
            created_by=created_by,
            expires_at=now + ttl,
        )
        return token, f"{STAFF_TOKEN_PREFIX}_{prefix}_{secret}"


def staff_tokens_revoke(tokens: models.QuerySet[StaffToken]) -> int:
    """Revoke the tokens not yet revoked; returns how many. Refused from the next request on (no cache)."""
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
