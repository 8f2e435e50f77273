"""What the system says on a ticket's timeline, in the reader's language.

The deadline sweep, the payment task and the other automatic actors write their reasons as a code and its
parameters in the event's payload (``reason_code``, ``reason_params``), never as finished text: the same entry
reaches a Chinese buyer, an English storefront and the staff, each rendered at reading or sending time in the
language active then (``event_reason``). The event's ``reason`` column keeps the text in the site's language
(``LANGUAGE_CODE``) for searches and for readers that know no codes.

Add a code here, with its parameters rendered in ``_params_shown``; a code this process does not know (written by
a newer release) falls back to the stored text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from kefu.core.vocabulary import Priority, state_label

# code -> the sentence, with %(name)s parameters (see _params_shown for what each becomes).
SYSTEM_REASONS: dict[str, Any] = {
    "sla_breached": _("SLA breached: %(step)s was due at %(due)s."),
    "deadline_acted": _("Deadline passed (%(step)s was due at %(due)s): %(action)s automatically."),
    "deadline_refused": _("Deadline passed (%(step)s was due at %(due)s) but “%(action)s” was refused: %(error)s"),
    "deadline_approaching": _("Deadline approaching."),
    "refund_failed": _("Refund %(refund)s failed %(attempts)s times: %(error)s"),
    "postage_shop": _("Return postage ¥%(amount)s: the shop's fault, ¥%(refund)s of it is refunded with the goods."),
    "postage_buyer": _("Return postage ¥%(amount)s: paid by the buyer (no fault of the shop, no shipping insurance)."),
    "postage_insurer": _("Return postage ¥%(amount)s: paid by the shipping insurance (运费险), not by the shop."),
    "refund_unconfirmed": _(
        "Refund %(refund)s was submitted to %(payer)s at %(submitted)s and nobody has confirmed it was paid."
    ),
    # tickets.services.priority.ticket_priority_set (a macro's field change, replies.services.macro_apply)
    "priority_changed": _("Priority changed from %(previous)s to %(priority)s."),
}

# Reasons other apps add (tickets must not import them): code -> a function rendering the parameters in the active
# language. Registered in their AppConfig.ready() with ``reason_renderer_register``.
REASON_RENDERERS: dict[str, Callable[[Mapping[str, Any]], str]] = {}


def reason_renderer_register(code: str, render: Callable[[Mapping[str, Any]], str]) -> None:
    """Let ``system_reason`` and ``event_reason`` render ``code`` (an app's own reason) with ``render``."""
    REASON_RENDERERS[code] = render


# The names automatic actors sign the timeline with, as people read them.
SYSTEM_ACTORS: dict[str, Any] = {
    "deadline sweep": _("deadline sweep"),
    "payment gateway": _("payment gateway"),
    "payout watch": _("payout watch"),
    "routing": _("routing"),
    "stalled parcel watch": _("stalled parcel watch"),
    "incident": _("incident"),
    "system": _("system"),
    "risk control": _("risk control"),
    "fast refund": _("fast refund"),
}


# What the buyer reads for a state where it differs from the desk's label (the desk's says whose move it is). In
# refund_pending the merchant has agreed and the refund is on its way to the payer (tickets.services.refunds): for
# the buyer it is approved and being paid, until the payer confirms it (refunded).
BUYER_STATE_LABELS: dict[tuple[str, str], Any] = {
    ("return", "refund_pending"): _("Refund approved, being paid"),
}


def buyer_state_label(kind: str, state: str) -> str:
    """The state's label as the buyer (storefront API, buyer notifications) reads it, in the active language."""
    label = BUYER_STATE_LABELS.get((kind, state))
    return str(label) if label is not None else state_label(kind, state)


def system_reason(code: str, **params: Any) -> tuple[str, dict[str, Any]]:
    """The reason ``code`` with ``params`` (JSON values: codes, ISO times, numbers, text) as ``(text, payload)``:
    the text in the site's language for the event's ``reason`` column, and the payload entries to store beside
    it so every reader gets it in their own language."""
    stored = {key: value.isoformat() if isinstance(value, datetime) else value for key, value in params.items()}
    with translation.override(settings.LANGUAGE_CODE):
        text = _render(code, stored)
    return text, {"reason_code": code, "reason_params": stored}


def event_reason(event: Any) -> str:
    """The reason of a timeline entry in the active language: rendered from its code when it has one."""
    payload = event.payload or {}
    code = payload.get("reason_code")
    if code in SYSTEM_REASONS or code in REASON_RENDERERS:
        try:
            return _render(code, payload.get("reason_params") or {})
        except (KeyError, TypeError, ValueError):  # parameters of another release: the stored text
            return str(event.reason)
    return str(event.reason)


def actor_label(name: str) -> str:
    """An automatic actor's name in the active language; any other name as it is."""
    label = SYSTEM_ACTORS.get(name)
    return str(label) if label is not None else name


def _render(code: str, params: Mapping[str, Any]) -> str:
    if code in REASON_RENDERERS:
        return REASON_RENDERERS[code](params)
    return str(SYSTEM_REASONS[code]) % _params_shown(params)


def _params_shown(params: Mapping[str, Any]) -> dict[str, Any]:
    from tickets.actions import action_get  # the declarations import the models; read lazily

    shown = dict(params)
    kind = params.get("kind", "")
    if "state" in params:
        shown["step"] = state_label(kind, params["state"])
    if "due" in params:
        due = parse_datetime(params["due"]) if isinstance(params["due"], str) else params["due"]
        shown["due"] = f"{timezone.localtime(due):%Y-%m-%d %H:%M}" if due else ""
    for key in ("priority", "previous"):
        if isinstance(params.get(key), int) and params[key] in Priority.values:
            shown[key] = str(Priority(params[key]).label)
    if "action" in params:
        action = action_get(kind, params["action"])
        shown["action"] = str(action.label) if action is not None else params["action"]
    return shown
