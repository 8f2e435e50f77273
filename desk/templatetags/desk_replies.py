"""``{% reply_tools ticket as tools %}``: the ticket page's canned replies and macros (desk.admin.replies), so
reply_tools.html needs nothing from the page's own context but the ticket and the request."""

from __future__ import annotations

from typing import Any

from django import template

from desk.admin.replies import reply_tools_context

register = template.Library()


@register.simple_tag(takes_context=True)
def reply_tools(context: template.Context, ticket: Any) -> dict[str, Any]:
    request = context.get("request")
    if request is None or ticket is None:
        return {}
    return reply_tools_context(request, ticket)
