"""The refusals of the ticket engine, each with a stable code (docs/api.md lists them)."""

from __future__ import annotations

from kefu.errors import Conflict, DomainError, NotFound, ValidationFailed


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


class TicketNotFound(NotFound):
    code = "ticket_not_found"


def require(value: str | None, field: str, what: str) -> str:
    """Return ``value`` stripped, or refuse naming the missing field."""
    text = (value or "").strip()
    if not text:
        raise FieldRequired(f"{what} is required.", field=field)
    return text
