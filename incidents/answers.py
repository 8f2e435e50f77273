"""A buyer's answer to an incident: their choice among its offers moves their own ticket.

The public answer page (incidents.views, the signed link) and the storefront API (api.views.incidents) call
``incident_answer``. The answer is recorded once (``answered_at``, ``answer``) under the ``IncidentTicket``'s row
lock, then carried out through the ticket's declared transitions (incidents.paths.ANSWER_PATHS), in the same
transaction:

- wait: investigate (if still reported), then ``compensate`` with the incident's amount as the incident's supervisor
  (the order's room, the shop's cap, and above the approval threshold a second supervisor: maker-checker), then,
  when no approval is needed, the payout through payments (``compensation_pay``, a coupon from the shop's pool by
  default), which resolves the ticket;
- exchange: the alternative SKU reshipped for a logistics case (``reship``, the reason names the SKU), or the
  incident's exchange approved;
- refund: the declared ``refund`` (the linked refund-only return and its refund lifecycle), or for an exchange the
  buyer withdraws it and a refund-only return is opened and approved for its lines.

When the ticket refuses a step (a cap, an empty coupon pool, a state changed by staff meanwhile), the answer
stands and the ticket gets a note for the staff saying what the buyer chose and why it was not done: the buyer is
never asked twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents.models import Incident, IncidentOffer, IncidentStatus, IncidentTicket
from incidents.paths import BUYER, AnswerPath, answer_path, answer_steps, offers_open
from incidents.reasons import incident_reason, offer_label
from kefu.core.errors import Conflict, DomainError, ValidationFailed
from kefu.core.vocabulary import LogisticsState
from payments.models import PayoutMethod
from payments.services.payouts import compensation_pay
from tickets.actions import action_get
from tickets.actors import Actor
from tickets.models import Ticket
from tickets.selectors import ticket_get
from tickets.services import return_open, ticket_act
from tickets.services.timeline import ticket_note_record
from tickets.types import LineRequest

INCIDENT_ACTOR = "incident"


class AnswerRefused(Conflict):
    """An answer that cannot be taken; ``str()`` is the buyer's message in the active language."""

    code = "incident_answer_refused"


class AnswerAlreadyGiven(AnswerRefused):
    code = "incident_already_answered"


class AnswerClosed(AnswerRefused):
    code = "incident_closed"


class AnswerInvalid(ValidationFailed):
    code = "incident_answer_invalid"


def answer_actor(incident: Incident) -> Actor:
    """Who runs the staff steps of an answer: the supervisor who started the incident (who declared the offer)."""
    user = incident.started_by or incident.created_by
    return Actor.staff(user) if user is not None else Actor.system(INCIDENT_ACTOR)


def answer_offers(affected: IncidentTicket, ticket: Ticket) -> list[str]:
    """What this buyer may still choose: the incident's offers the ticket can take from its state (none once
    answered or closed)."""
    if affected.answered_at is not None or affected.incident.status != IncidentStatus.RUNNING:
        return []
    return offers_open(list(affected.incident.offers or []), ticket.kind, ticket.state)


def incident_answer(*, affected_id: int, choice: Any, now: datetime | None = None) -> IncidentTicket:
    """Record the buyer's ``choice`` for one affected order and carry it out on its ticket (module docstring).

    Raises ``AnswerInvalid`` (not one of the offers open to this ticket), ``AnswerAlreadyGiven``, ``AnswerClosed``
    (the incident is closed); then nothing is written. Locks the ``IncidentTicket`` row, then the ticket.
    """
    now = now or timezone.now()
    with transaction.atomic():
        affected = IncidentTicket.objects.select_for_update().select_related("incident").get(pk=affected_id)
        incident = affected.incident
        if affected.answered_at is not None:
            raise AnswerAlreadyGiven(
                _("Thank you, we already have your answer: %(answer)s.") % {"answer": offer_label(affected.answer)}
            )
        if incident.status != IncidentStatus.RUNNING:
            raise AnswerClosed(_("This matter is closed; no answer is needed any more."))
        ticket = ticket_get(pk=affected.ticket_id)
        choice = str(choice or "")
        path = answer_path(ticket.kind, ticket.state, choice) if choice in (incident.offers or []) else None
        if path is None:
            raise AnswerInvalid(_("Please choose one of the options offered."), field="answer")
        affected.answer = choice
        affected.answered_at = now
        affected.save(update_fields=["answer", "answered_at"])
        try:
            with transaction.atomic():
                ticket = _carry_out(incident, affected, ticket, path)
            if choice == IncidentOffer.WAIT and ticket.state == LogisticsState.COMPENSATING:
                with transaction.atomic():  # an unpaid compensation stays approved, for the staff to pay
                    _pay(ticket, answer_actor(incident))
        except DomainError as exc:
            note, payload = incident_reason(
                "incident_answer_failed", incident=incident.title, answer=choice, error=str(exc)
            )
            ticket_note_record(ticket=ticket, actor=Actor.system(INCIDENT_ACTOR), reason=note, reason_payload=payload)
    return affected


def _inputs(ticket: Ticket, action: str, offered: dict[str, Any]) -> dict[str, Any]:
    declared = action_get(ticket.kind, action)
    names = declared.act.needs_by_name if declared is not None else {}
    return {name: value for name, value in offered.items() if name in names}


def _carry_out(incident: Incident, affected: IncidentTicket, ticket: Ticket, path: AnswerPath) -> Ticket:
    staff = answer_actor(incident)
    buyer = Actor.for_buyer(ticket.buyer)
    text, payload = incident_reason("incident_answered", incident=incident.title, answer=affected.answer)
    reason = text
    if affected.answer == IncidentOffer.EXCHANGE and incident.alternative_sku:
        sku = _("Alternative SKU: %(sku)s.") % {"sku": incident.alternative_sku}
        reason = f"{text} {sku}"
    offered = {"amount": incident.compensation_amount, "reason": reason}
    for step in answer_steps(path, ticket.state):
        ticket = ticket_act(
            ticket=ticket,
            actor=buyer if step.by == BUYER else staff,
            action=step.action,
            check_version=False,
            reason_payload=payload,
            **_inputs(ticket, step.action, offered),
        )
    if path.linked_refund:
        _refund_for(ticket, staff, reason)
    return ticket


def _refund_for(ticket: Ticket, actor: Actor, reason: str) -> None:
    """A refund-only return for the ticket's lines (``origin`` = the ticket), approved by the system at once: the
    same as a declared ``LinkedRefund`` (tickets.services.acting) for a ticket whose kind has none from here."""
    lines = [
        LineRequest(sku=tl.order_line.sku, quantity=tl.quantity) for tl in ticket.lines.select_related("order_line")
    ]
    refund = return_open(
        order=ticket.order,
        actor=actor,
        lines=lines,
        reason_code="out_of_stock",
        refund_only=True,
        description=f"{ticket.number}: {reason}",
        origin=ticket,
    )
    ticket_act(ticket=refund, actor=Actor.system(INCIDENT_ACTOR), action="approve", reason=reason)


def _pay(ticket: Ticket, actor: Actor) -> None:
    """Pay the accepted compensation at once (``KEFU_INCIDENT_COMPENSATION_METHOD``); a refusal (an empty coupon
    pool) leaves the ticket in ``compensating`` for the operations staff, with the caller's note."""
    method = settings.KEFU_INCIDENT_COMPENSATION_METHOD
    if not method:
        return
    compensation_pay(ticket=ticket, method=PayoutMethod(method), actor=actor)
