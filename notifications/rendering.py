"""Rendering a message from the template for (event, channel, language), with the ticket's context."""

from __future__ import annotations

import functools
import re
from typing import Any

from django.template import Context, Engine
from django.template import Template as DjangoTemplate
from django.utils import timezone, translation

from notifications.config import notification_config
from notifications.defaults import DEFAULT_TEMPLATES

_engine = Engine(autoescape=False)
# Checking a template before it is saved: a variable the context lacks renders as a marker naming it.
_UNKNOWN = "\x00unknown:%s\x00"
_checking_engine = Engine(autoescape=False, string_if_invalid=_UNKNOWN)


def template_unknowns(source: str, sample: dict[str, Any]) -> list[str]:
    """The variables ``source`` uses that ``sample`` (a context with every variable there is) does not have,
    sorted; raises ``TemplateSyntaxError`` for a template that does not compile. Shared by the admin's check of
    message templates (desk.admin.notifications) and of canned replies (replies.rendering)."""
    rendered = _checking_engine.from_string(source).render(Context(sample, autoescape=False))
    return sorted(set(re.findall(r"\x00unknown:(.*?)\x00", rendered)))


def template_for(event: str, channel: str, language: str) -> tuple[str, str]:
    """Subject and body source: the channel's own template, else the event's default row, else the code's."""
    templates = notification_config.get().templates
    found = templates.get((event, channel, language)) or templates.get((event, "", language))
    if found is not None:
        return found
    return DEFAULT_TEMPLATES.get((event, language)) or DEFAULT_TEMPLATES[(event, "zh-hans")]


def render(event: str, channel: str, language: str, context: dict[str, Any]) -> tuple[str, str]:
    subject_src, body_src = template_for(event, channel, language)
    with translation.override(language):
        # Plain-text messages: a Context escapes HTML by default, whatever the engine says.
        ctx = Context(context, autoescape=False)
        subject = _compiled(subject_src).render(ctx).strip()
        body = _compiled(body_src).render(ctx).strip()
    return subject, body


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> DjangoTemplate:
    """A template's source, compiled once per process (keyed by the source: an edited template is new)."""
    return _engine.from_string(source)


def local_time(value: Any) -> str:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}" if value else ""
