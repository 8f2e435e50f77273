"""The supervisors' dashboard, a page of the admin (``/admin/dashboard/``)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from dashboard.access import may_view_dashboard
from dashboard.panels import dashboard_build
from dashboard.selectors import PERIODS


def dashboard_view(request: HttpRequest) -> HttpResponse:
    """Charts of the desk for supervisors; 403 for other staff. ``?days=7`` (default) or ``?days=30``.

    Wrapped in ``admin.site.admin_view`` (dashboard/urls.py): logged-out users go to the admin's login.
    """
    if not may_view_dashboard(request.user):
        raise PermissionDenied
    days = int(request.GET["days"]) if request.GET.get("days") in {str(p) for p in PERIODS} else PERIODS[0]
    dashboard = dashboard_build(days=days, now=timezone.now())
    context = {
        **admin.site.each_context(request),
        # The charts take the page's whole width.
        "is_nav_sidebar_enabled": False,
        "title": _("Dashboard"),
        "dashboard": dashboard,
        "periods": PERIODS,
    }
    return TemplateResponse(request, "dashboard/index.html", context)
