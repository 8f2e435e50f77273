"""The ticket models. The kind subclasses live beside their state machines in ``tickets.workflows``."""

from tickets.models.base import (
    Department,
    Kind,
    PayoutChannel,
    Priority,
    ReasonCode,
    Refund,
    RefundStatus,
    Ticket,
    TicketLine,
    WaitingOn,
)
from tickets.models.finance import RefundToPay
from tickets.models.timeline import AppendOnlyError, Attachment, EventType, TicketEvent
from tickets.workflows.complaint import ComplaintCategory, ComplaintTicket, Severity
from tickets.workflows.exchange import ExchangeTicket
from tickets.workflows.logistics import ExceptionType, LogisticsTicket, Outcome
from tickets.workflows.return_ import ReturnTicket

__all__ = [
    "AppendOnlyError",
    "Attachment",
    "ComplaintCategory",
    "ComplaintTicket",
    "Department",
    "EventType",
    "ExceptionType",
    "ExchangeTicket",
    "Kind",
    "LogisticsTicket",
    "Outcome",
    "PayoutChannel",
    "Priority",
    "ReasonCode",
    "Refund",
    "RefundStatus",
    "RefundToPay",
    "ReturnTicket",
    "Severity",
    "Ticket",
    "TicketEvent",
    "TicketLine",
    "WaitingOn",
]
