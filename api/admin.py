"""Storefront API keys: created here (the full key is shown once, in a message), revoked, never edited.

Only the key's hash is stored (``ApiKey.issue``); once the message has been shown nobody, the supervisor who
made it included, can read the key again. A lost key is revoked and a new one created. Keys are never
deleted, so the log of who created and revoked which key stays. A revoked key is refused at once by this
process and within ``KEFU_API_KEY_CACHE_SECONDS`` by the others (api/key_cache.py).
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from api.key_cache import forget_key
from api.models import KEY_PREFIX, ApiKey, StaffToken, staff_tokens_revoke


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "shop", "key_prefix", "created_at", "created_by", "last_used_at", "status"]
    list_filter = ["shop", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["shop", "created_by"]
    search_fields = ["name", "=prefix", "shop__name", "shop__code"]
    autocomplete_fields = ["shop"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("shop", "name")
        return ("shop", "name", "key_prefix", "created_at", "created_by", "last_used_at", "revoked_at")

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        if obj is None:
            return []
        # A key's shop never changes (the storefront holding it acts for that shop); its name may.
        return ["shop", "key_prefix", "created_at", "created_by", "last_used_at", "revoked_at"]

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False  # revoke instead: the key's record stays

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        key, raw = ApiKey.issue(shop=obj.shop, name=obj.name, created_by=request.user)
        # The admin goes on with ``obj`` (its log entry, the redirect): make it the stored key.
        obj.pk, obj.prefix, obj.hashed_secret, obj.created_at, obj.created_by = (
            key.pk,
            key.prefix,
            key.hashed_secret,
            key.created_at,
            key.created_by,
        )
        obj._state.adding, obj._state.db = False, key._state.db
        messages.warning(
            request,
            _(
                "The new API key for %(shop)s is %(key)s — copy it now into the storefront's configuration: it is "
                "stored only as a hash and will never be shown again."
            )
            % {"shop": key.shop, "key": raw},
        )

    @admin.display(description=gettext_lazy("key"))
    def key_prefix(self, obj: ApiKey) -> str:
        return f"{KEY_PREFIX}_{obj.prefix}_…"

    @admin.display(description=gettext_lazy("status"), boolean=False)
    def status(self, obj: ApiKey) -> str:
        if obj.revoked_at:
            return _("revoked %(when)s") % {"when": timezone.localtime(obj.revoked_at).strftime("%Y-%m-%d %H:%M")}
        return _("active")

    @admin.action(description=gettext_lazy("Revoke selected API keys"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        for key_id in queryset.values_list("pk", flat=True):  # an update sends no post_save: forget them here
            forget_key(key_id)
        self.message_user(
            request,
            ngettext(
                "%(count)d API key revoked: requests with it are refused within %(seconds)d seconds at the latest "
                "(servers keep a verified key that long).",
                "%(count)d API keys revoked: requests with them are refused within %(seconds)d seconds at the latest "
                "(servers keep a verified key that long).",
                revoked,
            )
            % {"count": revoked, "seconds": math.ceil(settings.KEFU_API_KEY_CACHE_SECONDS)},
            messages.SUCCESS,
        )


@admin.register(StaffToken)
class StaffTokenAdmin(admin.ModelAdmin):
    """Staff users' API tokens: issued here (the token is shown once, in a message), revoked, never edited.

    Superusers only (no department group holds these permissions): a token acts as its user.
    """

    list_display = ["name", "user", "token_prefix", "created_at", "created_by", "expires_at", "last_used_at", "status"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user", "created_by"]
    search_fields = ["name", "=prefix", "user__username"]
    autocomplete_fields = ["user"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: StaffToken | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("user", "name")
        return ("user", "name", "token_prefix", "created_at", "created_by", "expires_at", "last_used_at", "revoked_at")

    def get_readonly_fields(self, request: HttpRequest, obj: StaffToken | None = None) -> list[str]:
        if obj is None:
            return []
        return ["user", "token_prefix", "created_at", "created_by", "expires_at", "last_used_at", "revoked_at"]

    def has_delete_permission(self, request: HttpRequest, obj: StaffToken | None = None) -> bool:
        return False  # revoke instead: the token's record stays

    def save_model(self, request: HttpRequest, obj: StaffToken, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        token, raw = StaffToken.issue(user=obj.user, name=obj.name, created_by=request.user)
        obj.pk, obj.prefix, obj.hashed_secret, obj.created_at, obj.created_by, obj.expires_at = (
            token.pk,
            token.prefix,
            token.hashed_secret,
            token.created_at,
            token.created_by,
            token.expires_at,
        )
        obj._state.adding, obj._state.db = False, token._state.db
        messages.warning(
            request,
            _(
                "The new API token of %(user)s is %(token)s — copy it now: it is stored only as a hash and will "
                "never be shown again. It works until %(expires)s."
            )
            % {
                "user": token.user.get_username(),
                "token": raw,
                "expires": timezone.localtime(token.expires_at).strftime("%Y-%m-%d %H:%M"),
            },
        )

    @admin.display(description=gettext_lazy("token"))
    def token_prefix(self, obj: StaffToken) -> str:
        return obj.masked

    @admin.display(description=gettext_lazy("status"))
    def status(self, obj: StaffToken) -> str:
        if obj.revoked_at:
            return _("revoked %(when)s") % {"when": timezone.localtime(obj.revoked_at).strftime("%Y-%m-%d %H:%M")}
        if obj.is_expired():
            return _("expired")
        return _("active")

    @admin.action(description=gettext_lazy("Revoke selected staff tokens"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[StaffToken]) -> None:
        revoked = staff_tokens_revoke(queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d staff token revoked: requests with it are refused from now on.",
                "%(count)d staff tokens revoked: requests with them are refused from now on.",
                revoked,
            )
            % {"count": revoked},
            messages.SUCCESS,
        )
