"""Who is calling: a storefront (per-shop API key) or a staff user (token or session).

A storefront request's ``request.user`` is a :class:`StorefrontClient`; every storefront view scopes its
queries to ``client.shop``, so another shop's objects are simply not found (404).
"""

from __future__ import annotations

import hmac

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import authentication, exceptions, permissions

from api.clients import StorefrontClient
from api.key_cache import verified_keys
from api.models import KEY_PREFIX, ApiKey, hash_secret
from api.throttling import credentials_guard


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


class StaffTokenAuthentication(authentication.TokenAuthentication):
    """DRF's ``Authorization: Token …``, with failed tokens counted per client address and per token prefix
    (its first 8 characters): too many, and the token is not even read (429)."""

    def authenticate(self, request):
        words = authentication.get_authorization_header(request).split()
        if not words or words[0].lower() != self.keyword.lower().encode():
            return None
        prefix = words[1][:8].decode(errors="replace") if len(words) == 2 else ""
        with credentials_guard(request, kind="token", prefix=prefix):
            return super().authenticate(request)


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
