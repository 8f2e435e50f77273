"""``{% load dashboard_tags %}``: whether to show the dashboard link (templates/admin/index.html)."""

from __future__ import annotations

from django import template
from django.http import HttpRequest

from dashboard.access import may_view_dashboard

register = template.Library()


@register.simple_tag(takes_context=True)
def dashboard_visible(context: template.Context) -> bool:
    request: HttpRequest | None = context.get("request")
    return request is not None and may_view_dashboard(request.user)
