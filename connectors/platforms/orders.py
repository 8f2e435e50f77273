"""The order as far as its case describes it: what every connector's ``fetch_order`` answers while kefu does not
call the platforms' order APIs (they need another permission; the shop's own order sync completes the order)."""

from __future__ import annotations

from connectors.base import CaseSnapshot, OrderLineSnapshot
from connectors.commands import ErrorKind, PlatformError


def the_case(order_id: str, case: CaseSnapshot | None) -> CaseSnapshot:
    """``case``, or a permanent error: without its case kefu knows nothing of the order."""
    if case is None:
        raise PlatformError(ErrorKind.PERMANENT, "order_unknown", f"order {order_id} needs its case")
    return case


def case_lines(case: CaseSnapshot) -> tuple[OrderLineSnapshot, ...]:
    """One order line a case line, each with what was paid (else what is asked back): a line without a SKU is
    named after its platform line id (``oid-…``)."""
    paid = case.paid_fen or case.refund_fen
    return tuple(
        OrderLineSnapshot(
            sku=line.sku or f"oid-{line.external_id}",
            name=line.name,
            quantity=line.quantity,
            unit_fen=paid // max(1, line.quantity),
            paid_fen=paid,
        )
        for line in case.lines
    )
