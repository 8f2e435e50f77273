"""The refusals of the ticket engine, each with a stable code (docs/api.md lists them)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from kefu.core.errors import Conflict, DomainError, NotFound, ValidationFailed


class TransitionNotAllowed(Conflict):
    """The ticket's current state (or a rule about it) does not allow this transition (HTTP 409)."""

    code = "transition_not_allowed"


class TicketChanged(Conflict):
    """Someone else changed the ticket since the caller read it (optimistic check; HTTP 409)."""

    code = "ticket_changed"


class NotPermitted(DomainError):
    """The actor's role may not run this transition (HTTP 403)."""

    code = "not_permitted"
    http_status = 403


class FieldRequired(ValidationFailed):
    code = "field_required"


class InvalidAmount(ValidationFailed):
    code = "invalid_amount"


class OutsideReturnWindow(ValidationFailed):
    code = "outside_return_window"


class QuantityNotReturnable(ValidationFailed):
    code = "quantity_not_returnable"


class InvalidLines(ValidationFailed):
    code = "invalid_lines"


class InvalidReason(ValidationFailed):
    code = "invalid_reason"


class RefundExceedsPaid(Conflict):
    """A refund above what was paid for the lines minus what was already refunded (HTTP 409)."""

    code = "refund_exceeds_paid"


class CompensationTooHigh(ValidationFailed):
    """A compensation above the order's paid amount (less refunds and other compensations) or the shop's cap."""

    code = "compensation_too_high"


class StalledParcelReported(Conflict):
    """The shipment already has its stalled-parcel ticket (one per shipment, backed by a unique constraint)."""

    code = "stalled_parcel_reported"


class TicketNotFound(NotFound):
    code = "ticket_not_found"


def require(value: str | None, field: str, what: str) -> str:
    """Return ``value`` stripped, or refuse naming the missing field.

    ``what`` is already translated by the caller (``gettext``, in the request's language) and names the
    field as the start of a sentence: "A reason for the rejection" → "A reason for the rejection is required."
    """
    text = (value or "").strip()
    if not text:
        # Translators: %(what)s is a translated phrase such as "A reason for the rejection".
        raise FieldRequired(_("%(what)s is required.") % {"what": what}, field=field)
    return text
