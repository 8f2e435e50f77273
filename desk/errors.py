"""The pages of refused and missing addresses (403, 404, 500), in the user's language, with a way back to work.

``kefu/urls.py`` names these as Django's ``handler403``/``handler404``/``handler500``. The admin and the staff
dashboard raise ``PermissionDenied`` and ``Http404``; these render them inside the admin's frame (the header with
the user's links and the language switcher) with links to where the user can work: the desk's index, the
dashboard for those who may see it, or the login page for a visitor who is not logged in.

A 500 page must not need anything that may be what failed (the database, the session): it is a plain template
without the admin's context.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views.decorators.csrf import requires_csrf_token


def _admin_page(request: HttpRequest, template_name: str, status: int, title: str) -> HttpResponse:
    user = getattr(request, "user", None)
    staff = bool(user is not None and user.is_active and user.is_staff)
    context: dict[str, Any] = {
        # The admin's header (site name, user links) for staff; a visitor sees the name and a login link only.
        **(admin.site.each_context(request) if staff else {"site_header": admin.site.site_header}),
        "site_title": admin.site.site_title,
        "error_title": title,
        "is_staff_user": staff,
        "request_path": request.path,
    }
    return HttpResponse(loader.render_to_string(template_name, context, request), status=status)


@requires_csrf_token  # the language switcher in the header posts a form
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _admin_page(request, "403.html", 403, _("You may not open this page"))


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _admin_page(request, "404.html", 404, _("This page does not exist"))


def server_error(request: HttpRequest) -> HttpResponse:
    return HttpResponse(loader.render_to_string("500.html", {"site_header": settings.KEFU_SITE_NAME}), status=500)
