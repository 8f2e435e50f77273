"""The admin site every kefu page lives in: its name, the order of its apps, and the system models kept for
superusers.

``DeskAdminConfig`` replaces ``django.contrib.admin`` in INSTALLED_APPS (kefu/conf/framework.py), so Django's
``admin.site`` (which every ``@admin.register`` and ``admin.site.admin_view`` uses) is a ``DeskAdminSite``.

- The header and the browser title are the shop's name (``KEFU_SITE_NAME``, kefu/conf/web.py). There is no
  storefront to link to, so no "View site" link (``site_url = None``).
- The index shows kefu's apps in the order a working day needs them (tickets first), not alphabetically.
- Infrastructure (Celery's schedules and results, the login lockout's records) is one group, "System", last, and
  only for superusers: other staff neither see it nor open it, whatever their permissions say (their pages answer
  403). The group has its own page (``admin:system``) so its heading links somewhere real.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.translation import gettext_lazy as _

# The apps whose models are infrastructure, not after-sales work: shown last, as one group, to superusers only.
SYSTEM_APP_LABELS = ("django_celery_beat", "django_celery_results", "axes")
SYSTEM_LABEL = "system"
# kefu's apps in the order of a working day; an app not named here comes after them, alphabetically.
APP_ORDER = ("tickets", "orders", "routing", "notifications", "risk", "payments", "connectors", "api", "auth")
# Within an app, these models first (in this order); the others follow alphabetically by their translated name.
MODEL_ORDER = {
    "tickets": ("Ticket", "RefundToPay", "Refund", "ReasonCode"),
    "orders": ("Order", "Buyer", "Shipment", "Shop"),
    "routing": ("Department", "StaffMember", "RoutingRule", "DeadlinePolicy"),
    "auth": ("User", "Group"),
}


class SuperuserOnlyMixin:
    """A model admin that exists only for superusers: other staff have no permission of any kind on it, so its
    pages answer 403 and it is left out of the index and the sidebar."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser) and super().has_module_permission(request)  # type: ignore[misc]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser) and super().has_view_permission(request, obj)  # type: ignore[misc]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return bool(request.user.is_superuser) and super().has_add_permission(request, *args)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser) and super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser) and super().has_delete_permission(request, obj)  # type: ignore[misc]


class DeskAdminSite(admin.AdminSite):
    site_url = None  # no storefront behind kefu: no "View site" link
    index_title = _("After-sales desk")

    @property
    def site_header(self) -> str:  # type: ignore[override]
        return str(settings.KEFU_SITE_NAME)

    @property
    def site_title(self) -> str:  # type: ignore[override]
        return str(settings.KEFU_SITE_NAME)

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        """Infrastructure models get a superuser-only admin (``SuperuserOnlyMixin`` over the class they register)."""
        models: list[Any] = [model_or_iterable] if isinstance(model_or_iterable, type) else list(model_or_iterable)
        system = [model for model in models if model._meta.app_label in SYSTEM_APP_LABELS]
        others = [model for model in models if model._meta.app_label not in SYSTEM_APP_LABELS]
        if others:
            super().register(others, admin_class, **options)
        if system:
            base = admin_class or admin.ModelAdmin
            restricted = type(f"SuperuserOnly{base.__name__}", (SuperuserOnlyMixin, base), {})
            super().register(system, restricted, **options)

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        app_dict = self._build_app_dict(request, app_label)
        for app in app_dict.values():
            first = MODEL_ORDER.get(app["app_label"], ())
            app["models"].sort(
                key=lambda m: (first.index(m["object_name"]) if m["object_name"] in first else len(first), m["name"])
            )
        if app_label:  # one app's own page
            return list(app_dict.values())
        system = [app_dict.pop(label) for label in SYSTEM_APP_LABELS if label in app_dict]
        apps = sorted(
            app_dict.values(),
            key=lambda app: (
                APP_ORDER.index(app["app_label"]) if app["app_label"] in APP_ORDER else len(APP_ORDER),
                str(app["name"]).lower(),
            ),
        )
        if system:
            apps.append(
                {
                    "name": _("System"),
                    "app_label": SYSTEM_LABEL,
                    "app_url": reverse("admin:system", current_app=self.name),
                    "has_module_perms": True,
                    "models": [model for app in system for model in app["models"]],
                }
            )
        return apps

    def get_urls(self) -> list[URLResolver | URLPattern]:
        return [path("system/", self.admin_view(self.system_index), name="system"), *super().get_urls()]

    def system_index(self, request: HttpRequest) -> HttpResponse:
        """The "System" group's own page: the infrastructure models, for superusers."""
        if not request.user.is_superuser:
            raise PermissionDenied
        app_list = [app for app in self.get_app_list(request) if app["app_label"] == SYSTEM_LABEL]
        context = {
            **self.each_context(request),
            "title": _("System"),
            "subtitle": None,
            "app_list": app_list,
            "app_label": SYSTEM_LABEL,
        }
        request.current_app = self.name
        return TemplateResponse(request, "admin/app_index.html", context)


class DeskAdminConfig(AdminConfig):
    """``django.contrib.admin`` with ``DeskAdminSite`` as its default site (INSTALLED_APPS names this class)."""

    default_site = "desk.site.DeskAdminSite"
