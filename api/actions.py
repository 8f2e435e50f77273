"""The API's actions on a ticket: each kind's transitions mapped onto the use-case services.

The state machine decides who may run what (``permission=`` of each transition, given the actor): a
storefront acts as the ticket's buyer, so only buyer transitions pass; a staff user only those of their
department. This table only says which service runs an action and which input it takes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from api import serializers as s
from tickets import services
from tickets.actors import Actor
from tickets.models import Ticket


@dataclass(frozen=True)
class Action:
    service: Callable[..., Ticket]
    input: type[serializers.Serializer]


def _actions() -> dict[tuple[str, str], Action]:
    reason_opt = s.ReasonOptionalSerializer
    reason = s.ReasonRequiredSerializer
    none = s.NoInputSerializer
    ship = s.ShippingSerializer
    return {
        # return
        ("return", "approve"): Action(services.return_approve, reason_opt),
        ("return", "reject"): Action(services.return_reject, reason),
        ("return", "modify"): Action(services.return_modify, s.ReturnModifySerializer),
        ("return", "escalate"): Action(services.return_escalate, reason_opt),
        ("return", "accept_rejection"): Action(services.return_accept_rejection, none),
        ("return", "ship_back"): Action(services.return_ship_back, ship),
        ("return", "receive"): Action(services.return_receive, none),
        ("return", "pass_inspection"): Action(services.return_pass_inspection, none),
        ("return", "pass_inspection_partly"): Action(services.return_pass_inspection_partly, s.PartialRefundSerializer),
        ("return", "fail_inspection"): Action(services.return_fail_inspection, reason),
        ("return", "uphold_buyer"): Action(services.return_uphold_buyer, reason_opt),
        ("return", "uphold_rejection"): Action(services.return_uphold_rejection, reason),
        ("return", "cancel"): Action(services.return_cancel, reason_opt),
        # exchange
        ("exchange", "approve"): Action(services.exchange_approve, reason_opt),
        ("exchange", "reject"): Action(services.exchange_reject, reason),
        ("exchange", "modify"): Action(services.exchange_modify, s.ExchangeModifySerializer),
        ("exchange", "escalate"): Action(services.exchange_escalate, reason_opt),
        ("exchange", "accept_rejection"): Action(services.exchange_accept_rejection, none),
        ("exchange", "ship_back"): Action(services.exchange_ship_back, ship),
        ("exchange", "receive"): Action(services.exchange_receive, none),
        ("exchange", "pass_inspection"): Action(services.exchange_pass_inspection, none),
        ("exchange", "fail_inspection"): Action(services.exchange_fail_inspection, reason),
        ("exchange", "ship_replacement"): Action(services.exchange_ship_replacement, ship),
        ("exchange", "convert_to_refund"): Action(services.exchange_convert_to_refund, reason),
        ("exchange", "confirm_receipt"): Action(services.exchange_confirm_receipt, none),
        ("exchange", "uphold_buyer"): Action(services.exchange_uphold_buyer, reason_opt),
        ("exchange", "uphold_rejection"): Action(services.exchange_uphold_rejection, reason),
        ("exchange", "cancel"): Action(services.exchange_cancel, reason_opt),
        # complaint
        ("complaint", "acknowledge"): Action(services.complaint_acknowledge, reason_opt),
        ("complaint", "investigate"): Action(services.complaint_investigate, reason_opt),
        ("complaint", "propose_resolution"): Action(services.complaint_propose_resolution, s.ResolutionSerializer),
        ("complaint", "accept_resolution"): Action(services.complaint_accept_resolution, none),
        ("complaint", "reopen"): Action(services.complaint_reopen, reason),
        ("complaint", "escalate"): Action(services.complaint_escalate, reason_opt),
        ("complaint", "dismiss"): Action(services.complaint_dismiss, reason),
        ("complaint", "cancel"): Action(services.complaint_cancel, reason_opt),
        # logistics
        ("logistics", "investigate"): Action(services.logistics_investigate, s.ClaimNumberSerializer),
        ("logistics", "reship"): Action(services.logistics_reship, reason_opt),
        ("logistics", "mark_reshipped"): Action(services.logistics_mark_reshipped, ship),
        ("logistics", "compensate"): Action(services.logistics_compensate, s.CompensationSerializer),
        ("logistics", "refund"): Action(services.logistics_refund, reason_opt),
        ("logistics", "mark_found"): Action(services.logistics_mark_found, reason_opt),
        ("logistics", "resolve"): Action(services.logistics_resolve, reason_opt),
        ("logistics", "confirm"): Action(services.logistics_confirm, none),
        ("logistics", "cancel"): Action(services.logistics_cancel, reason_opt),
    }


ACTIONS: dict[tuple[str, str], Action] = _actions()

# System-only transitions (timeouts, payment completion) are never offered through the API.
SYSTEM_ONLY = {"expire", "auto_refund", "auto_complete", "complete_refund"}


def action_for(ticket: Ticket, name: str) -> Action | None:
    return ACTIONS.get((ticket.kind, name))


def available_actions(ticket: Ticket, actor: Actor) -> list[dict[str, Any]]:
    """The transitions ``actor`` may run on ``ticket`` now (state, role and rules all allow them)."""
    found = []
    for transition in ticket.get_available_user_state_transitions(actor):
        if transition.name in SYSTEM_ONLY or (ticket.kind, transition.name) not in ACTIONS:
            continue
        found.append(
            {
                "name": transition.name,
                "label": str(transition.custom.get("label", transition.name)),
                "needs": list(transition.custom.get("needs", ())),
            }
        )
    return found


def run_action(*, ticket: Ticket, actor: Actor, name: str, data: dict[str, Any]) -> Ticket:
    action = action_for(ticket, name)
    if action is None or name in SYSTEM_ONLY:
        from tickets.errors import TransitionNotAllowed

        # Translators: %(kind)s is the kind's code: return, exchange, complaint or logistics.
        raise TransitionNotAllowed(
            _("'%(action)s' is not an action of a %(kind)s ticket.") % {"action": name, "kind": ticket.kind},
            field="action",
        )
    payload = action.input(data=data)
    payload.is_valid(raise_exception=True)
    return action.service(ticket=ticket, actor=actor, **payload.validated_data)
