"""The ticket use cases: one function per change. API views, admin actions, Celery tasks and commands
call these and nothing else to change a ticket (docs/architecture.md).

Importing this package registers the engine's entry hooks (refund reservation); the app's ``ready()``
imports it so every process has them.
"""

from tickets.services import refunds  # noqa: F401  (registers on_enter hooks)
from tickets.services.complaints import (
    complaint_acknowledge,
    complaint_accept_resolution,
    complaint_cancel,
    complaint_dismiss,
    complaint_escalate,
    complaint_investigate,
    complaint_propose_resolution,
    complaint_reopen,
)
from tickets.services.engine import ticket_lock, ticket_transition
from tickets.services.exchanges import (
    exchange_accept_rejection,
    exchange_approve,
    exchange_cancel,
    exchange_confirm_receipt,
    exchange_convert_to_refund,
    exchange_escalate,
    exchange_fail_inspection,
    exchange_modify,
    exchange_pass_inspection,
    exchange_receive,
    exchange_reject,
    exchange_ship_back,
    exchange_ship_replacement,
    exchange_uphold_buyer,
    exchange_uphold_rejection,
)
from tickets.services.logistics import (
    logistics_cancel,
    logistics_compensate,
    logistics_confirm,
    logistics_investigate,
    logistics_mark_found,
    logistics_mark_reshipped,
    logistics_refund,
    logistics_reship,
    logistics_resolve,
)
from tickets.services.opening import complaint_open, exchange_open, logistics_open, return_open
from tickets.services.refunds import refund_execute, refund_reserve
from tickets.services.returns import (
    return_accept_rejection,
    return_approve,
    return_cancel,
    return_escalate,
    return_fail_inspection,
    return_modify,
    return_pass_inspection,
    return_pass_inspection_partly,
    return_receive,
    return_reject,
    return_ship_back,
    return_uphold_buyer,
    return_uphold_rejection,
)
from tickets.services.timeline import ticket_assign, ticket_comment_add, ticket_evidence_attach

__all__ = [name for name in dir() if not name.startswith("_") and name != "refunds"]
