"""What an incident writes on its tickets' timelines, in the reader's language (codes and parameters, rendered by
tickets.wording when read; registered in ``IncidentsConfig.ready``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from tickets.wording import reason_renderer_register, system_reason

# The name the incident signs its tickets' timelines with (tickets.actors.Actor.system).
INCIDENT_ACTOR = "incident"

REASONS: dict[str, Any] = {
    "incident_opened": _("Opened for incident “%(title)s” (#%(incident)s)."),
    "incident_linked": _("Linked to incident “%(title)s” (#%(incident)s): this ticket answers for the order."),
    "incident_deadline_extended": _("Incident “%(title)s”: internal deadline moved by %(hours)s h, to %(due)s."),
    "incident_platform_first": _(
        "Incident “%(title)s”: the platform's deadline (%(platform_due)s) comes before the incident's timeline; "
        "this ticket must be answered before it."
    ),
}


def _when(value: Any) -> str:
    moment = parse_datetime(value) if isinstance(value, str) else value
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}" if moment else ""


def _renderer(code: str) -> Any:
    def render(params: Mapping[str, Any]) -> str:
        shown = dict(params)
        for key in ("due", "platform_due"):
            if key in shown:
                shown[key] = _when(shown[key])
        return str(REASONS[code]) % shown

    return render


def register_reasons() -> None:
    for code in REASONS:
        reason_renderer_register(code, _renderer(code))


def incident_reason(code: str, **params: Any) -> tuple[str, dict[str, Any]]:
    """``tickets.wording.system_reason`` for the incident's codes: (text in the site's language, payload)."""
    return system_reason(code, **params)
