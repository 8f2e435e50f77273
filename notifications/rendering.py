"""Rendering a message from the template for (event, channel, language), with the ticket's context."""

from __future__ import annotations

from typing import Any

from django.template import Context, Engine
from django.utils import timezone, translation

from notifications.defaults import DEFAULT_TEMPLATES
from notifications.models import Template

_engine = Engine(autoescape=False)


def template_for(event: str, channel: str, language: str) -> tuple[str, str]:
    """Subject and body source: the channel's own template, else the event's default row, else the code's."""
    rows = {
        t.channel: t
        for t in Template.objects.filter(event=event, language=language, active=True, channel__in=[channel, ""])
    }
    row = rows.get(channel) or rows.get("")
    if row is not None:
        return row.subject, row.body
    return DEFAULT_TEMPLATES.get((event, language)) or DEFAULT_TEMPLATES[(event, "zh-hans")]


def render(event: str, channel: str, language: str, context: dict[str, Any]) -> tuple[str, str]:
    subject_src, body_src = template_for(event, channel, language)
    with translation.override(language):
        # Plain-text messages: a Context escapes HTML by default, whatever the engine says.
        ctx = Context(context, autoescape=False)
        subject = _engine.from_string(subject_src).render(ctx).strip()
        body = _engine.from_string(body_src).render(ctx).strip()
    return subject, body


def local_time(value: Any) -> str:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}" if value else ""
