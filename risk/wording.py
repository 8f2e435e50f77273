"""What a flag says, in the reader's language, from its code and facts (stored as parameters, never as text)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from risk.models import FlagCode
from tickets.actions import action_get
from tickets.wording import reason_renderer_register, system_reason

# A count's sentence in its plural form (ngettext with the count's parameter name: chosen when formatted).
FACTS: dict[str, Any] = {
    FlagCode.SERIAL_RETURNER: ngettext_lazy(
        "%(returns)s return in %(days)s days (threshold %(threshold)s)",
        "%(returns)s returns in %(days)s days (threshold %(threshold)s)",
        "returns",
    ),
    FlagCode.REFUND_ONLY_ABUSE: ngettext_lazy(
        "%(count)s refund-only request in %(days)s days (threshold %(threshold)s); refunded ¥%(refunded)s of "
        "¥%(ordered)s ordered in a year",
        "%(count)s refund-only requests in %(days)s days (threshold %(threshold)s); refunded ¥%(refunded)s of "
        "¥%(ordered)s ordered in a year",
        "count",
    ),
    FlagCode.REVIEW_THREAT: ngettext_lazy(
        "%(count)s ticket threatened a bad review in 365 days (threshold %(threshold)s), e.g. “%(phrase)s”",
        "%(count)s tickets threatened a bad review in 365 days (threshold %(threshold)s), e.g. “%(phrase)s”",
        "count",
    ),
    FlagCode.EVIDENCE_REUSE: _("photo also on order %(order)s / ticket %(ticket)s, distance %(distance)s"),
}


def flag_label(code: str) -> str:
    try:
        return str(FlagCode(code).label)
    except ValueError:
        return code


def flag_facts(code: str, params: Mapping[str, Any]) -> str:
    """The facts that raised a flag, as a sentence in the active language."""
    template = FACTS.get(code)
    if template is None:
        return ""
    try:
        return str(template % dict(params))
    except (KeyError, TypeError, ValueError):  # parameters of another release
        return ""


def flag_text(code: str, params: Mapping[str, Any]) -> str:
    """ "Serial returner: 5 returns in 30 days (threshold 4)"."""
    facts = flag_facts(code, params)
    return f"{flag_label(code)}: {facts}" if facts else flag_label(code)


def flags_text(flags: Sequence[Mapping[str, Any]]) -> str:
    return "; ".join(flag_text(flag["code"], flag.get("params") or {}) for flag in flags)


def _flagged(params: Mapping[str, Any]) -> str:
    return gettext("Risk flag raised: %(flags)s.") % {"flags": flags_text(params.get("flags") or [])}


def _refused(params: Mapping[str, Any]) -> str:
    action = action_get(params.get("kind", ""), params.get("action", ""))
    return gettext("Not done automatically (“%(action)s”): the buyer is flagged (%(flags)s). A supervisor decides.") % {
        "action": str(action.label) if action is not None else params.get("action", ""),
        "flags": flags_text(params.get("flags") or []),
    }


def _fast_refund(params: Mapping[str, Any]) -> str:
    return gettext("Automatic decision by rule “%(rule)s”: requested ¥%(amount)s, at most ¥%(max)s, buyer clean.") % {
        "rule": params.get("rule", ""),
        "amount": params.get("amount", ""),
        "max": params.get("max", ""),
    }


def register_reasons() -> None:
    reason_renderer_register("risk_flagged", _flagged)
    reason_renderer_register("risk_automation_refused", _refused)
    reason_renderer_register("fast_refund_rule", _fast_refund)


def risk_reason(code: str, **params: Any) -> tuple[str, dict[str, Any]]:
    """``tickets.wording.system_reason`` for the risk app's own codes (registered in ``RiskConfig.ready``)."""
    return system_reason(code, **params)
