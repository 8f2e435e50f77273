"""Races through a real HTTP server on PostgreSQL: the same create sent 20 times at once with one
Idempotency-Key creates one ticket and every answer is the first one; two different transitions of the same
ticket at once: one wins, the other is a 409.

PostgreSQL only (SQLite serialises writers, so nothing would race): skipped elsewhere, failing in CI
(tests/markers.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests

from api.models import IdempotencyRecord, IdempotencyState, StaffToken
from tests.api.conftest import staff_user, storefront
from tests.markers import requires_postgres
from tickets.models import EventType, ReturnTicket, Ticket, TicketEvent

# serialized_rollback: the rows data migrations ship (reason codes, departments) come back after each flush.
pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

TIMEOUT = 60


def at_once(count: int, send: Callable[[requests.Session], requests.Response]) -> list[requests.Response]:
    """``send`` from ``count`` threads released together by a barrier; each thread has its own HTTP session."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        with requests.Session() as session:
            try:
                barrier.wait(timeout=TIMEOUT)
                results[i] = send(session)
            except BaseException as exc:  # reported below
                results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT * 2)
    errors = [r for r in results if not isinstance(r, requests.Response)]
    assert not errors, errors
    return results


def test_the_same_create_sent_20_times_at_once_creates_one_ticket(live_server):
    shop = storefront("race-shop")
    order = shop.order()
    body = {"order_number": order.number, "lines": [{"sku": "SKU-A", "quantity": 1}], "reason": "quality_problem"}
    headers = {"Authorization": f"Api-Key {shop.raw}", "Idempotency-Key": "race-1", "Accept-Language": "en"}

    responses = at_once(
        20, lambda s: s.post(f"{live_server.url}/api/v1/tickets/returns/", json=body, headers=headers, timeout=TIMEOUT)
    )

    assert [r.status_code for r in responses] == [201] * 20, [r.text[:200] for r in responses]
    assert len({r.content for r in responses}) == 1  # byte for byte the same answer
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 19
    assert ReturnTicket.objects.count() == 1
    ticket = ReturnTicket.objects.get()
    assert responses[0].json()["number"] == ticket.number
    assert TicketEvent.objects.filter(ticket_id=ticket.pk, event_type=EventType.CREATED).count() == 1
    record = IdempotencyRecord.objects.get()
    assert (record.key, record.state, record.response_status) == ("race-1", IdempotencyState.COMPLETED, 201)


@pytest.mark.parametrize("round_", range(8))
def test_two_different_transitions_at_once_one_wins_the_others_are_409(live_server, round_):
    """Eight requests race, four approvals and four rejections, over eight rounds: a loser still running when the
    winner committed fails the version check, one that starts after it no longer finds the ticket in operations'
    queue (an approval or a rejection hands it to the buyer). Both are 409 ``ticket_changed``, never 404."""
    shop = storefront(f"race-shop-{round_}")
    ticket = shop.ticket("return", "requested")
    user = staff_user("operations")
    token = StaffToken.issue(user=user, name="tests")[1]
    base = f"{live_server.url}/api/v1/staff/tickets/{ticket.number}/transitions"
    headers = {"Authorization": f"Token {token}", "Accept-Language": "en"}
    calls = [("approve", {}), ("reject", {"reason": "不符合"})] * 4

    lock = threading.Lock()
    order = iter(calls)

    def send(session: requests.Session) -> requests.Response:
        with lock:
            name, body = next(order)
        return session.post(f"{base}/{name}/", json=body, headers=headers, timeout=TIMEOUT)

    responses = at_once(len(calls), send)

    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * (len(calls) - 1), [(r.status_code, r.text[:200]) for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"ticket_changed"}
    after = Ticket.objects.get(pk=ticket.pk)
    winner = next(r for r in responses if r.status_code == 200).json()
    assert (after.state, after.version) == (winner["state"], ticket.version + 1)
    assert TicketEvent.objects.filter(ticket_id=ticket.pk, event_type=EventType.TRANSITION).count() == 1
