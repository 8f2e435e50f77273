"""The ticket use cases: one function per change. API views, admin actions, Celery tasks and commands
call these and nothing else to change a ticket (docs/architecture.md).

Every transition of every kind runs through ``ticket_act(ticket=, actor=, action=, **inputs)``
(tickets.services.acting), driven by the transition's declaration (``custom=Act(...)``, tickets.actions).

Importing this package registers the engine's entry hooks (refund reservation); the app's ``ready()``
imports it so every process has them.
"""

from tickets.locks import ticket_lock
from tickets.services import refunds  # noqa: F401  (registers on_enter hooks)
from tickets.services.acting import ticket_act
from tickets.services.assignment import ticket_assign, ticket_claim, ticket_reassign
from tickets.services.engine import ticket_transition
from tickets.services.opening import complaint_open, exchange_open, logistics_open, return_open
from tickets.services.refunds import refund_execute, refund_poll, refund_reserve, refund_settle
from tickets.services.timeline import ticket_comment_add, ticket_evidence_attach

__all__ = [
    "complaint_open",
    "exchange_open",
    "logistics_open",
    "refund_execute",
    "refund_poll",
    "refund_reserve",
    "refund_settle",
    "return_open",
    "ticket_act",
    "ticket_assign",
    "ticket_claim",
    "ticket_comment_add",
    "ticket_evidence_attach",
    "ticket_lock",
    "ticket_reassign",
    "ticket_transition",
]
