"""What an incident's answers and closing write on its tickets' timelines, in the reader's language (codes and
parameters, never text: tickets.wording renders them for the buyer, the storefront and the staff alike). The
incident's own opening, linking and deadline notes are in incidents.wording."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import get_language, gettext

from incidents.models import IncidentOffer
from tickets.actions import action_get
from tickets.wording import reason_renderer_register, system_reason


def text_in(texts: Mapping[str, Any] | Any, language: str) -> str:
    """The text of ``texts`` ({language: text}) for ``language``, else the site's, else any there is."""
    if not isinstance(texts, Mapping):
        return ""
    for code in (language, settings.LANGUAGE_CODE, *texts):
        text = texts.get(code)
        if isinstance(text, str) and text.strip():
            return text.strip()
    return ""


def offer_label(offer: str) -> str:
    try:
        return str(IncidentOffer(offer).label)
    except ValueError:
        return offer


def _answered(params: Mapping[str, Any]) -> str:
    return gettext("The buyer chose “%(answer)s” in incident “%(incident)s”.") % {
        "answer": offer_label(params.get("answer", "")),
        "incident": params.get("incident", ""),
    }


def _answer_failed(params: Mapping[str, Any]) -> str:
    return gettext(
        "The buyer chose “%(answer)s” in incident “%(incident)s”; it was not carried out automatically: %(error)s "
        "Please handle it."
    ) % {
        "answer": offer_label(params.get("answer", "")),
        "incident": params.get("incident", ""),
        "error": params.get("error", ""),
    }


def _closed(params: Mapping[str, Any]) -> str:
    return gettext("Incident “%(incident)s” closed: %(message)s") % {
        "incident": params.get("incident", ""),
        "message": text_in(params.get("messages") or {}, get_language() or settings.LANGUAGE_CODE),
    }


def _close_left(params: Mapping[str, Any]) -> str:
    return gettext("Incident “%(incident)s” closed; this ticket finishes its current step as usual.") % {
        "incident": params.get("incident", ""),
    }


def _close_refused(params: Mapping[str, Any]) -> str:
    action = action_get(params.get("kind", ""), params.get("action", ""))
    return gettext("Incident “%(incident)s” closed, but “%(action)s” was refused: %(error)s Please handle it.") % {
        "incident": params.get("incident", ""),
        "action": str(action.label) if action is not None else params.get("action", ""),
        "error": params.get("error", ""),
    }


def register_reasons() -> None:
    reason_renderer_register("incident_answered", _answered)
    reason_renderer_register("incident_answer_failed", _answer_failed)
    reason_renderer_register("incident_closed", _closed)
    reason_renderer_register("incident_close_left", _close_left)
    reason_renderer_register("incident_close_refused", _close_refused)


def incident_reason(code: str, **params: Any) -> tuple[str, dict[str, Any]]:
    """``tickets.wording.system_reason`` for the codes above: (text in the site's language, payload)."""
    return system_reason(code, **params)
