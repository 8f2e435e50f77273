"""How the incident pages put an incident in words: its scope as a list of conditions, its texts per language."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from incidents.models import Incident
from orders.models import Channel, ShipmentStatus


def texts_html(texts: Any) -> str:
    if not isinstance(texts, dict) or not texts:
        return "—"
    return format_html_join("", '<p lang="{}">{}</p>', ((language, text) for language, text in texts.items()))


def scope_in_words(incident: Incident) -> str:
    """The scope as a list of its conditions (「承运商：ZTO」…), or "every order" when it has none."""
    channels, statuses = dict(Channel.choices), dict(ShipmentStatus.choices)
    parts: list[tuple[Any, str]] = []
    shops = [shop.name for shop in incident.shops.all()] if incident.pk else []
    if shops:
        parts.append((_("shops"), "、".join(shops)))
    if incident.channels:
        parts.append((_("channels"), "、".join(str(channels.get(c, c)) for c in incident.channels)))
    if incident.carrier:
        parts.append((_("carrier"), incident.carrier))
    if incident.tracking_statuses:
        parts.append((_("tracking statuses"), "、".join(str(statuses.get(s, s)) for s in incident.tracking_statuses)))
    if incident.origin_region:
        parts.append((_("origin region"), incident.origin_region))
    if incident.destination_region:
        parts.append((_("destination region"), incident.destination_region))
    if incident.skus:
        parts.append((_("SKUs"), "、".join(incident.skus)))
    if incident.shipped_from:
        parts.append((_("shipped from"), f"{timezone.localtime(incident.shipped_from):%Y-%m-%d %H:%M}"))
    if incident.shipped_until:
        parts.append((_("shipped until"), f"{timezone.localtime(incident.shipped_until):%Y-%m-%d %H:%M}"))
    if not parts:
        return str(_("Every order"))
    return format_html(
        '<ul class="kefu-incident-scope">{}</ul>',
        format_html_join("", "<li>{}：{}</li>", ((label, value) for label, value in parts)),
    )
