"""Who is calling: a storefront (per-shop API key) or a staff user (token or session).

A storefront request's ``request.user`` is a :class:`StorefrontClient`; every storefront view scopes its
queries to ``client.shop``, so another shop's objects are simply not found (404).
"""

from __future__ import annotations

import hmac
import re
from datetime import timedelta

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import authentication, exceptions, permissions

from api.clients import StorefrontClient
from api.key_cache import verified_keys
from api.models import KEY_PREFIX, STAFF_TOKEN_PREFIX, ApiKey, StaffToken, hash_secret
from api.throttling import credentials_guard

# A token issued by DRF's authtoken before issue 12 (40 hexadecimal characters), stored hashed since.
LEGACY_TOKEN = re.compile(r"[0-9a-f]{40}")
LEGACY_PREFIX = "l"
# How stale ``StaffToken.last_used_at`` may get: one UPDATE per token per this interval, not per request.
LAST_USED_RESOLUTION = timedelta(minutes=5)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Api-Key kefu_<prefix>_<secret>`` (or ``X-Api-Key: …``)."""

    keyword = "Api-Key"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace")
        raw = ""
        if header.startswith(self.keyword + " "):
            raw = header[len(self.keyword) + 1 :].strip()
        elif request.META.get("HTTP_X_API_KEY"):
            raw = request.META["HTTP_X_API_KEY"].strip()
        if not raw:
            return None
        # A key verified in this process less than KEFU_API_KEY_CACHE_SECONDS ago answers without a query
        # (api.key_cache: keyed by the hash of the whole key, so a wrong secret misses and is checked below).
        client = verified_keys.get(raw)
        if client is None:
            # Failures are counted per client address and per key prefix; too many, and the key is not even read.
            parts = raw.split("_", 2)
            with credentials_guard(request, kind="api_key", prefix=parts[1] if len(parts) == 3 else ""):
                client = self._verify(raw)
            verified_keys.put(raw, client)
        return client, client.api_key

    @staticmethod
    def _verify(raw: str) -> StorefrontClient:
        parts = raw.split("_", 2)
        if len(parts) != 3 or parts[0] != KEY_PREFIX:
            raise exceptions.AuthenticationFailed(_("Malformed API key."))
        key = ApiKey.objects.select_related("shop").filter(prefix=parts[1]).first()
        if key is None or not hmac.compare_digest(key.hashed_secret, hash_secret(parts[2])):
            raise exceptions.AuthenticationFailed(_("Invalid API key."))
        if not key.is_active:
            raise exceptions.AuthenticationFailed(_("This API key was revoked."))
        return StorefrontClient(shop=key.shop, api_key=key)

    def authenticate_header(self, request) -> str:
        return self.keyword


def token_prefix(raw: str) -> str:
    """The part of a presented staff token that names it, not its secret (failures are counted by it)."""
    parts = raw.split("_", 2)
    return parts[1][:8] if len(parts) == 3 else raw[:8]


class StaffTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token kefustaff_<prefix>_<secret>``: a staff user's token (api.models.StaffToken).

    Only the secret's hash is stored; an expired or revoked token, or one whose user was deactivated, is refused
    with 401 ``authentication_failed`` and a message saying which, in the caller's language. Failures are counted
    per client address and per token prefix (api.throttling.credentials_guard): too many, and the token is not
    even read (429).
    """

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header.startswith(self.keyword + " "):
            return None
        raw = header[len(self.keyword) + 1 :].strip()
        with credentials_guard(request, kind="token", prefix=token_prefix(raw)):
            return self._verified(raw)

    def _verified(self, raw: str):
        parts = raw.split("_", 2)
        if len(parts) == 3 and parts[0] == STAFF_TOKEN_PREFIX:
            prefix, secret = parts[1], parts[2]
        elif LEGACY_TOKEN.fullmatch(raw):  # converted from DRF's plain tokens by migration api 0002
            prefix, secret = LEGACY_PREFIX + raw[:11], raw
        else:
            raise exceptions.AuthenticationFailed(_("Malformed staff token."))
        token = StaffToken.objects.select_related("user").filter(prefix=prefix).first()
        if token is None or not hmac.compare_digest(token.hashed_secret, hash_secret(secret)):
            raise exceptions.AuthenticationFailed(_("Invalid staff token."))
        now = timezone.now()
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This staff token was revoked; ask for a new one."))
        if token.is_expired(now):
            raise exceptions.AuthenticationFailed(
                _("This staff token expired on %(when)s; ask for a new one.")
                % {"when": date_format(timezone.localtime(token.expires_at), "DATETIME_FORMAT")}
            )
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("This staff token's user is deactivated."))
        if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
            StaffToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


class IsStorefront(permissions.BasePermission):
    # Lazy: a class attribute, translated when DRF refuses the request (in the request's language).
    message = gettext_lazy("This endpoint is for storefront clients (Api-Key authentication).")

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, StorefrontClient)


class IsStaff(permissions.BasePermission):
    message = gettext_lazy("This endpoint is for staff users (token or session authentication).")

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and not isinstance(user, StorefrontClient) and user.is_authenticated and user.is_active)


def client_id(request) -> str:
    """The scope of idempotency keys and throttles: one API key, or one staff user."""
    user = request.user
    if isinstance(user, StorefrontClient):
        return user.pk
    return f"user:{user.pk}"
