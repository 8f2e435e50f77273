"""The API's actions on a ticket, derived from the catalogue (``tickets.actions``): nothing is declared here.

The state machine decides who may run what (``permission=`` of each transition, given the actor): a
storefront acts as the ticket's buyer, so only buyer transitions pass; a staff user only those of their
department. Each action's input serializer is built once from its declared needs (``input_serializer``), so
the API answers a missing or invalid field with DRF's usual 400 before the service runs; then
``tickets.services.ticket_act`` runs it.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from tickets import actions as catalogue
from tickets.actions import Action
from tickets.actors import Actor
from tickets.errors import TransitionNotAllowed
from tickets.models import Ticket
from tickets.services import ticket_act
from tickets.workflows.acts import Need, NeedType

# Every action a person may run through the API (system-only ones are not), by (kind, name).
ACTIONS: dict[tuple[str, str], Action] = catalogue.offered()


def serializer_field(need: Need) -> serializers.Field:
    """The DRF field of one declared input (the admin's ``desk.admin.forms.form_field`` is its twin)."""
    common: dict[str, Any] = {"label": need.label, "help_text": need.help or None}
    if not need.required:
        common.update(required=False, default=need.default)
        common.update({"allow_null": True} if need.default is None else {"allow_blank": True})
    if need.type == NeedType.MONEY:
        return serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"), **common)
    if need.max_length is not None:
        common["max_length"] = need.max_length
    return serializers.CharField(**common)


@functools.cache
def input_serializer(kind: str, name: str) -> type[serializers.Serializer]:
    """The input serializer of one action, built from its needs once per process."""
    action = ACTIONS[(kind, name)]
    fields = {need.name: serializer_field(need) for need in action.needs}
    class_name = "".join(part.title() for part in (kind, *name.split("_"))) + "InSerializer"
    return type(class_name, (serializers.Serializer,), fields)


def action_for(ticket: Ticket, name: str) -> Action | None:
    return ACTIONS.get((ticket.kind, name))


def available_actions(ticket: Ticket, actor: Actor) -> list[dict[str, Any]]:
    """The actions ``actor`` may run on ``ticket`` now: name, label, and the inputs they require (``needs``)."""
    return [action.describe() for action in catalogue.available_actions(ticket, actor)]


def run_action(*, ticket: Ticket, actor: Actor, name: str, data: dict[str, Any]) -> Ticket:
    if action_for(ticket, name) is None:
        # Translators: %(kind)s is the kind's code: return, exchange, complaint or logistics.
        raise TransitionNotAllowed(
            _("'%(action)s' is not an action of a %(kind)s ticket.") % {"action": name, "kind": ticket.kind},
            field="action",
        )
    payload = input_serializer(ticket.kind, name)(data=data)
    payload.is_valid(raise_exception=True)
    return ticket_act(ticket=ticket, actor=actor, action=name, **payload.validated_data)
