"""Template tags of the desk's frame: the site's name for pages rendered without the admin's context."""

from __future__ import annotations

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def kefu_site_name() -> str:
    """``KEFU_SITE_NAME``: what the header says on pages outside the admin's views (django-axes' lockout page)."""
    return str(settings.KEFU_SITE_NAME)
