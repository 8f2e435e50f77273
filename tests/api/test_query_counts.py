"""SQL queries per request: the lists take the same number at page sizes 20 and 100, and retrieve and create
take a fixed number, whatever the number of rows, lines or timeline entries.

A page is read as: the paginated base rows, the rows as their kinds (one query per kind on the page, so at
most four), their lines (one query); a detail reads its lines and timeline (on PostgreSQL in one statement,
api.selectors.answer_rows). Pages here hold all four kinds, so the counts are exact. If one of these numbers
changes, read the captured SQL in the failure before updating it: a number that grows with the page is an N+1.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.api.conftest import staff, url
from tests.factories.orders import OrderLineFactory
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

KINDS = ("return", "exchange", "complaint", "logistics")
FIRST_STATE = {"return": "requested", "exchange": "requested", "complaint": "open", "logistics": "reported"}
# authentication: the API key (0: verified once per process, api/key_cache.py; the fixtures below have used it) |
# the token (1) and the user's departments (StaffMember, groups: 2)
STOREFRONT_AUTH, STAFF_AUTH = 0, 3
PAGE = 1 + len(KINDS) + 1  # base rows, one per kind, lines
# A staff answer's risk flags of the tickets' buyers (risk.selectors.flags_of_tickets): one query for a page.
RISK_FLAGS = 1
# A ticket's lines and timeline for its answer: one statement on PostgreSQL, two queries elsewhere.
ANSWER_ROWS = 1 if connection.vendor == "postgresql" else 2


@pytest.fixture
def many(shop_a):
    """104 open tickets, kinds interleaved (in creation order and in due time), each with its own order."""
    now = timezone.now()
    tickets = []
    for i in range(104):
        kind = KINDS[i % len(KINDS)]
        ticket = shop_a.ticket(kind, FIRST_STATE[kind], created_at=now - timedelta(minutes=i))
        Ticket.objects.filter(pk=ticket.pk).update(due_at=now + timedelta(minutes=i))
        tickets.append(ticket)
    shop_a.client.get(url("ticket-list"))  # the key is read and kept, and its last_used_at written, here
    return tickets


def config_loaded() -> None:
    """Read the configuration snapshots (routing, notifications, reasons) as a running process has them:
    loading them is a few queries once per process, not per request (kefu.core.config_cache)."""
    from kefu.core.config_cache import _snapshots

    for snapshot in _snapshots:
        snapshot.get()


def count(client, path, query=None) -> tuple[int, list[str], object]:
    config_loaded()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, query or {})
    assert response.status_code == 200, response.content
    return len(captured), [q["sql"] for q in captured.captured_queries], response


def test_the_storefront_list_takes_the_same_queries_at_20_and_100(shop_a, many):
    n20, sql20, r20 = count(shop_a.client, url("ticket-list"), {"page_size": 20})
    n100, sql100, r100 = count(shop_a.client, url("ticket-list"), {"page_size": 100})
    assert (len(r20.json()["results"]), len(r100.json()["results"])) == (20, 100)
    assert {row["kind"] for row in r20.json()["results"]} == set(KINDS)
    assert n20 == n100 == STOREFRONT_AUTH + PAGE, "\n".join(sql100)
    # Filters and the next page do not add any.
    n_filtered, sql, _ = count(
        shop_a.client,
        url("ticket-list"),
        {"page_size": 100, "state": "requested", "created_after": "2000-01-01T00:00:00Z"},
    )
    assert n_filtered <= n100, "\n".join(sql)
    n_next, sql, _ = count(shop_a.client, r20.json()["next"])
    assert n_next == n20, "\n".join(sql)


@pytest.mark.parametrize("department", ["supervisors", "operations"])
def test_the_staff_queue_takes_the_same_queries_at_20_and_100(shop_a, many, department):
    member = staff(department)
    member.client.get(url("staff-queue"))
    n20, _, r20 = count(member.client, url("staff-queue"), {"page_size": 20})
    n100, sql100, r100 = count(member.client, url("staff-queue"), {"page_size": 100})
    kinds = set(KINDS) if department == "supervisors" else {"return", "exchange", "complaint"}
    assert {row["kind"] for row in r20.json()["results"]} == kinds
    assert len(r100.json()["results"]) == (100 if department == "supervisors" else 78)
    assert n20 == n100 == STAFF_AUTH + 1 + len(kinds) + 1 + RISK_FLAGS, "\n".join(sql100)


def test_retrieve_takes_a_fixed_number_of_queries(shop_a):
    small, busy = shop_a.ticket("return", "requested"), shop_a.ticket("complaint", "open")
    shop_a.client.get(url("ticket-list"))
    agent = staff("supervisors")
    for i in range(30):  # a long timeline, comments from both sides
        client = shop_a.client if i % 2 else agent.client
        name = "ticket-comment" if i % 2 else "staff-ticket-comment"
        client.post(url(name, number=busy.number), {"body": f"#{i}", "public": True}, format="json")
    for ticket in (small, busy):
        n, sql, _ = count(shop_a.client, url("ticket-detail", number=ticket.number))
        # the ticket as its kind (known from its number's prefix), lines and timeline (the key is kept)
        assert n == STOREFRONT_AUTH + 1 + ANSWER_ROWS, "\n".join(sql)
        n, sql, _ = count(agent.client, url("staff-ticket-detail", number=ticket.number))
        assert n == STAFF_AUTH + 1 + ANSWER_ROWS + RISK_FLAGS, "\n".join(sql)


# Opening a return, as measured: the key 0 (kept since the request before), order 1, the savepoint around the
# service 2 (the test's transaction is around it), order lines locked 1 (on PostgreSQL the same statement takes the
# ticket's id from the sequence), what other tickets hold of them 1 (after the lock, in a statement of its own).
# Then on PostgreSQL one statement writing the ticket's two rows, its lines and its timeline entry 1
# (kefu.core.writes); elsewhere the inserts one by one
# (ticket, return, number, lines, timeline) 5. Nobody of the department is on duty, which the on-duty snapshot says
# without a query (with someone on duty: their rows locked, their open tickets counted, the assignment written).
# Routing rules, deadline policies, departments, reason codes, the shop's channels and the department's on-duty
# emails come from the process's configuration snapshots (kefu.core.config_cache); the answer is the ticket the
# service made, with the lines and timeline it wrote. The shop has no webhook: with one (the shared harness), the
# outbox row is one more statement.
CREATE_RETURN = 1 + 2 + 1 + 1 + (1 if connection.vendor == "postgresql" else 5)
# A buyer's cancel: the ticket 1, the savepoint 2, its version under the row lock 1, then on PostgreSQL the UPDATE
# with the timeline entry 1 (elsewhere 2), and the answer's lines and timeline.
CANCEL = 1 + 2 + 1 + (1 if connection.vendor == "postgresql" else 2) + ANSWER_ROWS


def test_a_buyers_cancel_takes_a_fixed_number_of_queries(shop_a):
    tickets = [shop_a.ticket("return", "requested") for _ in range(2)]
    shop_a.client.post(url("ticket-action", number=tickets[0].number, action="cancel"), {}, format="json")
    config_loaded()
    with CaptureQueriesContext(connection) as captured:
        response = shop_a.client.post(
            url("ticket-action", number=tickets[1].number, action="cancel"), {}, format="json"
        )
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "cancelled"
    assert len(captured) == CANCEL, "\n".join(q["sql"] for q in captured.captured_queries)


@pytest.mark.parametrize("lines", [1, 5])
def test_create_takes_a_fixed_number_of_queries(shop_a, lines):
    shop_a.ticket("return", "requested")
    shop_a.client.get(url("ticket-list"))
    order = shop_a.order()
    for i in range(lines - 1):
        OrderLineFactory(order=order, sku=f"SKU-{i}")
    body = {
        "order_number": order.number,
        "reason": "quality_problem",
        "lines": [{"sku": line.sku, "quantity": 1} for line in order.lines.all()],
    }
    config_loaded()
    with CaptureQueriesContext(connection) as captured:
        response = shop_a.client.post(url("return-open"), body, format="json")
    assert response.status_code == 201, response.content
    assert len(response.json()["lines"]) == lines
    sql = "\n".join(q["sql"] for q in captured.captured_queries)
    assert len(captured) == CREATE_RETURN, sql
    # With an Idempotency-Key: the claim (stale clean-up, insert in a savepoint: 4) and the stored answer
    # (1) and the outer savepoint (2) on top.
    order = shop_a.order()
    body["order_number"], body["lines"] = order.number, [{"sku": "SKU-A", "quantity": 1}]
    config_loaded()
    with CaptureQueriesContext(connection) as captured:
        response = shop_a.client.post(url("return-open"), body, format="json", HTTP_IDEMPOTENCY_KEY=f"q-{lines}")
    assert response.status_code == 201, response.content
    assert len(captured) == CREATE_RETURN + 7, "\n".join(q["sql"] for q in captured.captured_queries)
