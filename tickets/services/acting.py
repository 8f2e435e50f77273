"""``ticket_act``: the one service that runs any declared action of a ticket.

API views, admin pages and bulk actions, the deadline sweep, the payment task, commands and linked tickets call
``ticket_act(ticket=..., actor=..., action="approve", reason=...)``. It reads the action's declaration
(``tickets.actions``, from ``custom=Act(...)`` on the transition), validates the inputs against its needs,
carries out the declared effects and runs the transition through ``engine.ticket_transition``, all in the
engine's one transaction:

1. inputs: unknown names, missing or blank required ones, text too long, amounts not above zero in fen are
   refused naming the field (``FieldRequired``, ``ValidationFailed``, ``InvalidAmount``), before anything is
   locked or written;
2. the engine locks the ticket and checks state, actor and rules; then the ``prepare`` effect runs (a parcel
   created, an amount checked against what can still be refunded) and the transition with its parameters;
3. the timeline entry records the ``note`` input as its reason and the inputs declared ``record``;
4. the ``after`` effect runs (a linked refund opened and approved), still inside the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.conf import settings
from django.utils.translation import gettext as _

from kefu.core.errors import ValidationFailed
from tickets.actions import Action, action_get
from tickets.actors import Actor
from tickets.errors import CompensationTooHigh, FieldRequired, InvalidAmount, RefundExceedsPaid, TransitionNotAllowed
from tickets.models import Ticket
from tickets.services.engine import ticket_transition
from tickets.types import LineRequest
from tickets.workflows.acts import CompensationLimits, Effect, LinkedRefund, Need, NeedType, RefundCap, Ship

T = TypeVar("T", bound=Ticket)
FEN = Decimal("0.01")


def ticket_act(
    *,
    ticket: T,
    actor: Actor,
    action: str,
    check_version: bool = True,
    held: bool = False,
    reason_payload: Mapping[str, Any] | None = None,
    **inputs: Any,
) -> T:
    """Run the declared ``action`` of ``ticket`` as ``actor`` with ``inputs``; return the updated ticket.

    ``check_version=False`` acts on the ticket as it is now (the sweep, the payment task, a linked ticket);
    ``held=True`` says the caller's transaction already holds the ticket's lock on this copy (the sweep, which
    reads due tickets under their locks): the engine neither reads nor locks it again. ``reason_payload``: an
    automatic actor's reason as a code and parameters (tickets.wording.system_reason), stored on the entry.
    Raises what ``engine.ticket_transition`` raises, and the input refusals above; then nothing is written.
    """
    declared = action_get(ticket.kind, action)
    if declared is None:
        raise TransitionNotAllowed(
            _("'%(transition)s' is not an action of a %(kind)s ticket.")
            % {"transition": action, "kind": ticket.get_kind_display()},
            field="action",
            transition=action,
        )
    values = inputs_validate(declared, inputs)
    payload = {**(reason_payload or {}), **{need.name: values[need.name] for need in declared.needs if need.record}}
    if isinstance(declared.prepare, Ship):
        payload.update(carrier=values["carrier"], tracking_number=values["tracking_number"])
    return ticket_transition(
        ticket=ticket,
        actor=actor,
        transition=action,
        reason=values.get(declared.act.note) or "",
        params={name: value for name, value in values.items() if name in declared.params and name != "reason"},
        prepare=_prepare(declared.prepare, values, actor),
        after=_after(declared.after, actor, values),
        payload=payload or None,
        check_version=check_version,
        held=held,
    )


def inputs_validate(action: Action, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs as the action's needs declare them (text stripped, amounts as ``Decimal``), every need present."""
    unknown = sorted(set(inputs) - set(action.act.needs_by_name))
    if unknown:
        raise ValidationFailed(
            _("'%(field)s' is not an input of '%(action)s'; it takes: %(names)s.")
            % {
                "field": unknown[0],
                "action": action.name,
                "names": ", ".join(need.name for need in action.needs) or _("nothing"),
            },
            field=unknown[0],
        )
    return {need.name: _value(need, inputs.get(need.name)) for need in action.needs}


def _value(need: Need, value: Any) -> Any:
    if need.type == NeedType.MONEY:
        return _amount(need, value)
    if value is None:
        if need.required:
            raise FieldRequired(_("%(what)s is required.") % {"what": need.label}, field=need.name)
        return need.default
    if not isinstance(value, str):
        raise ValidationFailed(_("%(what)s must be text.") % {"what": need.label}, field=need.name)
    text = value.strip()
    if need.required and not text:
        raise FieldRequired(_("%(what)s is required.") % {"what": need.label}, field=need.name)
    if need.max_length is not None and len(text) > need.max_length:
        raise ValidationFailed(
            _("%(what)s is at most %(max)d characters.") % {"what": need.label, "max": need.max_length},
            field=need.name,
        )
    return text


def _amount(need: Need, value: Any) -> Decimal | None:
    if value is None or value == "":
        if need.required:  # an amount refused as such, whether missing or wrong (as the transitions refuse it)
            raise InvalidAmount(_("%(what)s is required.") % {"what": need.label}, field=need.name)
        return None
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0 or amount != amount.quantize(FEN):
        raise InvalidAmount(_("%(what)s must be above ¥0.00, in fen.") % {"what": need.label}, field=need.name)
    return amount


# -- the declared effects (tickets.workflows.acts) --------------------------------------------------------


def _prepare(
    effect: Effect | None, values: dict[str, Any], actor: Actor
) -> Callable[[Ticket], Mapping[str, Any]] | None:
    """Runs on the locked ticket after the engine's checks, before the transition; returns more parameters."""
    if effect is None:
        return None
    if isinstance(effect, Ship):
        from orders.shipments import shipment_create

        return lambda ticket: {
            "shipment": shipment_create(
                order=ticket.order,
                direction=effect.direction,
                carrier=values["carrier"],
                tracking_number=values["tracking_number"],
            )
        }
    if isinstance(effect, RefundCap):
        return lambda ticket: _refund_cap(ticket, effect.field, values[effect.field])
    if isinstance(effect, CompensationLimits):
        return lambda ticket: _compensation_limits(ticket, effect.field, values[effect.field], actor)
    raise TypeError(f"{effect!r} is not a prepare effect")


def _refund_cap(ticket: Ticket, field: str, amount: Decimal | None) -> dict[str, Any]:
    from tickets.selectors import ticket_lines, ticket_refundable_amount

    if amount is not None:
        cap = ticket_refundable_amount(lines=ticket_lines(ticket=ticket))
        if amount > cap:
            raise RefundExceedsPaid(
                _("At most ¥%(cap)s can still be refunded for these lines; ¥%(asked)s asked.")
                % {"cap": cap, "asked": amount},
                field=field,
            )
    return {}


def _compensation_limits(ticket: Ticket, field: str, amount: Decimal, actor: Actor) -> dict[str, Any]:
    """Bound a compensation by the order's paid amount and the shop's cap; say whether a second supervisor must
    approve it (above the shop's threshold, else KEFU_COMPENSATION_APPROVAL_THRESHOLD) and who proposed it."""
    from tickets.selectors import order_compensation_room

    shop = ticket.shop
    room = order_compensation_room(ticket=ticket)
    if amount > room:
        raise CompensationTooHigh(
            _(
                "At most ¥%(room)s can be paid as compensation for order %(order)s (what was paid, less refunds and "
                "other compensations); ¥%(asked)s asked."
            )
            % {"room": room, "order": ticket.order.number, "asked": amount},
            field=field,
        )
    if shop.compensation_cap is not None and amount > shop.compensation_cap:
        raise CompensationTooHigh(
            _("%(shop)s pays at most ¥%(cap)s per compensation; ¥%(asked)s asked.")
            % {"shop": shop.name, "cap": shop.compensation_cap, "asked": amount},
            field=field,
        )
    threshold = shop.compensation_approval_threshold
    if threshold is None:
        threshold = Decimal(str(settings.KEFU_COMPENSATION_APPROVAL_THRESHOLD))
    return {"needs_approval": amount > threshold, "proposed_by": actor.user}


def _after(effect: Effect | None, actor: Actor, values: dict[str, Any]) -> Callable[[Ticket], None] | None:
    """Runs on the locked ticket once the transition and its event are written, in the same transaction."""
    if effect is None:
        return None
    if isinstance(effect, LinkedRefund):
        return lambda ticket: _linked_refund(ticket, effect, actor, values.get("reason") or "")
    raise TypeError(f"{effect!r} is not an after effect")


def _linked_refund(ticket: Ticket, effect: LinkedRefund, actor: Actor, reason: str) -> None:
    """A refund-only return for the ticket's lines, opened by ``actor`` and approved by the system at once."""
    from tickets.services.opening import return_open

    lines = [
        LineRequest(sku=tl.order_line.sku, quantity=tl.quantity) for tl in ticket.lines.select_related("order_line")
    ]
    refund = return_open(
        order=ticket.order,
        actor=actor,
        lines=lines,
        reason_code=effect.reason_code,
        refund_only=True,
        description=f"{ticket.number}: {reason}".strip(": "),
        origin=ticket,
    )
    ticket_act(ticket=refund, actor=Actor.system(effect.approved_by), action="approve", reason=reason)
