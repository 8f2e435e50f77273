"""Refunds are never stuck: a refund whose task was never queued is paid by the periodic relay, a refund
that failed for good waits for operations to retry it, and nobody can mark a refund paid by hand.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from pytest_django import Settings

from kefu.core.errors import Conflict
from tests.factories.tickets import buyer_actor, order_with_line, staff_actor, ticket_reload
from tests.tickets.services.gateways import FLAKY, RECORDING, FlakyGateway, RecordingGateway, paying_gateway
from tickets.errors import NotPermitted
from tickets.models import Refund, RefundStatus
from tickets.payments import GatewayError
from tickets.services import ticket_act
from tickets.services.engine import ticket_transition
from tickets.services.opening import return_open
from tickets.services.refund_sweeps import refunds_relay
from tickets.services.refunds import MAX_REFUND_ATTEMPTS, refund_execute, refund_retry
from tickets.types import LineRequest

pytestmark = pytest.mark.django_db


def refund_pending_ticket():
    order = order_with_line()
    ticket = return_open(
        order=order,
        actor=buyer_actor(order),
        lines=[LineRequest("SKU-A", 1)],
        reason_code="not_received",
        refund_only=True,
    )
    # The on-commit task is not run here: as if the broker had been down when the refund was reserved.
    return ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve")


def test_a_refund_whose_task_never_ran_is_paid_by_the_relay(settings: Settings) -> None:
    paying_gateway(settings, RECORDING)
    RecordingGateway.reset()
    ticket = refund_pending_ticket()
    assert refunds_relay() == 0  # too fresh: its own task may still be on the way
    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=False):
        assert refunds_relay() == 1
        assert refunds_relay() == 0  # idempotent
    assert ticket_reload(ticket).state == "refunded"
    assert len(RecordingGateway.calls) == 1


def test_a_failed_refund_waits_for_operations_and_is_paid_once_retried(settings: Settings) -> None:
    paying_gateway(settings, FLAKY)
    FlakyGateway.reset(failures=MAX_REFUND_ATTEMPTS)
    ticket = refund_pending_ticket()
    refund = Refund.objects.get(ticket=ticket)
    for _ in range(MAX_REFUND_ATTEMPTS):
        with pytest.raises(GatewayError):
            refund_execute(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    calls = len(FlakyGateway.calls)
    refund_execute(refund_id=refund.pk)  # a failed refund is not tried again by itself
    assert len(FlakyGateway.calls) == calls
    refund_retry(refund=refund, actor=staff_actor("operations"))
    refund_execute(refund_id=refund.pk)
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.SUCCEEDED
    assert ticket_reload(ticket).state == "refunded"
    with pytest.raises(Conflict):
        refund_retry(refund=refund, actor=staff_actor("operations"))


def test_nobody_marks_a_refund_paid_by_hand() -> None:
    ticket = refund_pending_ticket()
    with pytest.raises(NotPermitted):
        ticket_transition(ticket=ticket, actor=staff_actor("operations"), transition="complete_refund")
    with pytest.raises(NotPermitted):
        ticket_transition(ticket=ticket, actor=staff_actor("supervisors"), transition="complete_refund")
