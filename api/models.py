"""API keys of storefront clients, and the responses kept for Idempotency-Key retries."""

from __future__ import annotations

import hashlib
import secrets

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
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
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
