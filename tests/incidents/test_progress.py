"""An incident's progress figures (incidents.progress) as the buyers answer, are paid and complain, in a fixed
number of queries whatever the incident's size."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.answers import incident_answer
from incidents.messaging import incident_tell_batch
from incidents.models import IncidentTicket
from incidents.progress import incident_progress
from tests.factories.tickets import ticket_build
from tests.incidents.affected import coupons, running_incident
from tickets.actors import Actor
from tickets.models import RefundStatus, Ticket
from tickets.payments import MANUAL, PayoutAnswer, PayoutStatus
from tickets.services import refund_settle

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.KEFU_COMPENSATION_APPROVAL_THRESHOLD = 50
    settings.KEFU_INCIDENT_COMPENSATION_METHOD = "coupon"


def test_the_figures_follow_telling_answers_payouts_refunds_and_complaints() -> None:
    incident = running_incident(count=4, messages_per_minute=600)
    waits, refunds, quiet, complainer = IncidentTicket.objects.filter(incident=incident).order_by("pk")
    assert incident_progress(incident).matched == 4
    assert incident_progress(incident).told == 0
    incident_tell_batch(incident_id=incident.pk)
    coupons(waits.order.shop, "5.00")
    incident_answer(affected_id=waits.pk, choice="wait")
    incident_answer(affected_id=refunds.pk, choice="refund")
    refund = Ticket.objects.get(origin_id=refunds.ticket_id).refunds.get()
    refund_settle(
        idempotency_key=refund.idempotency_key,
        answer=PayoutAnswer(status=PayoutStatus.SUCCEEDED, payer=MANUAL, reference="BANK-1"),
        actor=Actor.system("payment gateway"),
        channel="bank_transfer",
    )
    assert refund.__class__.objects.get(pk=refund.pk).status == RefundStatus.SUCCEEDED
    ticket_build("complaint", order=complainer.order)  # after the start: complained further
    ticket_build("complaint", order=complainer.order)  # the same buyer counts once

    progress = incident_progress(incident)
    assert (progress.matched, progress.told, progress.answered) == (4, 4, 2)
    assert progress.answers == {"wait": 1, "exchange": 0, "refund": 1}
    assert progress.compensation_paid == Decimal("5.00")
    assert progress.refunded_amount == Decimal("99.00")
    # The compensated ticket is resolved (waiting for the buyer's confirmation); the refunded one too, once paid.
    assert progress.resolved == 2
    assert progress.complained == 1


@pytest.mark.parametrize("count", [2, 12])
def test_the_figures_take_four_queries_whatever_the_size(count) -> None:
    incident = running_incident(count=count)
    incident_tell_batch(incident_id=incident.pk)
    with CaptureQueriesContext(connection) as queries:
        progress = incident_progress(incident)
    assert progress.matched == progress.told == count
    assert len(queries) == 4, [q["sql"] for q in queries]
