"""The ticket list: what each row shows, the filters, the search, the most-urgent-first order, page counts
that never count the whole table, and the same number of queries at 20 and at 100 rows.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from desk.admin import paging
from orders.models import Channel
from tests.admin.conftest import LIST, listed, ticket
from tests.factories.orders import BuyerFactory, OrderFactory, OrderLineFactory, ShipmentFactory, ShopFactory
from tests.factories.tickets import order_with_line, ticket_build
from tests.markers import requires_postgres
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def due_in(t: Ticket, delta: timedelta) -> Ticket:
    Ticket.objects.filter(pk=t.pk).update(step_due_at=timezone.now() + delta, due_at=timezone.now() + delta)
    return t


def assigned(t: Ticket, user) -> Ticket:
    """Routing picks the assignee when a ticket is built; tests that need one set it afterwards."""
    Ticket.objects.filter(pk=t.pk).update(assignee=user)
    return t


def row_of(page: str, number: str) -> str:
    start = page.index(f'<span class="kefu-number">{number}</span>')
    return page[start : page.index("</tr>", start)]


def test_a_row_shows_the_ticket_its_order_buyer_shop_department_assignee_priority_and_due_time(sup_client, ops_user):
    t = assigned(ticket("return", "requested", priority=30), ops_user)

    page = sup_client.get(reverse(LIST)).content.decode()

    row = row_of(page, t.number)
    for text in (
        "Return / refund",
        'class="kefu-state kefu-state--merchant"',
        "Requested",
        t.order.number,
        str(t.buyer),
        t.shop.name,
        "运营 Operations",
        "ops-alice",
        "High",
    ):
        assert text in row, text
    assert "kefu-overdue" not in row


@pytest.mark.parametrize(
    ("kind", "state", "group"),
    [
        ("return", "requested", "merchant"),
        ("return", "awaiting_return", "buyer"),
        ("return", "refunded", "done"),
        ("complaint", "closed", "done"),
        ("exchange", "cancelled", "cancelled"),
    ],
)
def test_the_state_label_is_coloured_by_who_must_act_or_how_it_ended(sup_client, kind, state, group):
    t = ticket(kind, state)

    row = row_of(sup_client.get(reverse(LIST)).content.decode(), t.number)

    assert f'class="kefu-state kefu-state--{group}"' in row


def test_overdue_tickets_are_red_and_have_their_filter(sup_client):
    late = due_in(ticket("return", "requested"), timedelta(hours=-3))
    on_time = due_in(ticket("return", "requested"), timedelta(hours=5))

    page = sup_client.get(reverse(LIST)).content.decode()

    assert "kefu-overdue" in row_of(page, late.number) and "kefu-overdue" not in row_of(page, on_time.number)
    assert listed(sup_client.get(reverse(LIST), {"overdue": "yes"})) == [late.number]
    assert listed(sup_client.get(reverse(LIST), {"overdue": "no"})) == [on_time.number]


def test_most_urgent_first_overdue_then_due_soonest_then_priority_and_ended_tickets_last(sup_client):
    ended = ticket("return", "refunded")
    later = due_in(ticket("return", "requested", priority=40), timedelta(hours=30))
    soon_low = due_in(ticket("return", "requested", priority=10), timedelta(hours=2))
    soon_high = due_in(ticket("return", "requested", priority=40), timedelta(hours=2))
    Ticket.objects.filter(pk=soon_low.pk).update(step_due_at=Ticket.objects.get(pk=soon_high.pk).step_due_at)
    overdue = due_in(ticket("complaint", "open"), timedelta(hours=-1))

    order = listed(sup_client.get(reverse(LIST)))

    assert order == [overdue.number, soon_high.number, soon_low.number, later.number, ended.number]


def test_filters(sup_client, ops_user, supervisor):
    jd = ShopFactory(channel=Channel.JD)
    mine = assigned(ticket("return", "requested", priority=40), supervisor)
    ops_owned = assigned(ticket("complaint", "open"), ops_user)
    wh = ticket("exchange", "received", order_fields={"shop": jd})
    old = ticket("logistics", "reported", created_at=timezone.now() - timedelta(days=40))

    def only(**params):
        return sorted(listed(sup_client.get(reverse(LIST), params)))

    assert only(kind__exact="complaint") == [ops_owned.number]
    assert only(kind__exact="exchange", state="received") == [wh.number]
    assert only(state="reported") == [old.number]
    assert only(department="warehouse") == [wh.number]
    assert only(assignee="me") == [mine.number]
    assert only(assignee=str(ops_user.pk)) == [ops_owned.number]
    assert only(assignee="none") == sorted([wh.number, old.number])
    assert only(priority__exact="40") == [mine.number]
    assert only(shop__id__exact=str(jd.pk)) == [wh.number]
    assert only(channel="jd") == [wh.number]
    since = str(timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=7))
    assert old.number not in only(created_at__gte=since) and mine.number in only(created_at__gte=since)


def test_the_state_filter_offers_the_states_of_the_kind_filtered_on(sup_client):
    ticket("complaint", "open")

    response = sup_client.get(reverse(LIST), {"kind__exact": "complaint"})

    [state_filter] = [f for f in response.context["cl"].filter_specs if getattr(f, "parameter_name", "") == "state"]
    assert [value for value, _ in state_filter.lookup_choices] == [
        "open",
        "acknowledged",
        "investigating",
        "escalated",
        "resolution_proposed",
        "closed",
        "cancelled",
    ]


def test_search_by_ticket_order_phone_buyer_name_and_tracking_numbers(sup_client):
    buyer = BuyerFactory(name="林小美", phone="13912345678")
    by_buyer = ticket("return", "requested", order=order_with_line(buyer=buyer, shop=buyer.shop))
    by_order = ticket("complaint", "open")
    returned = ticket("return", "return_in_transit")
    parcel = ShipmentFactory(order=returned.order, direction="return", tracking_number="YT7788990011")
    returned.as_kind().__class__.objects.filter(pk=returned.pk).update(return_shipment=parcel)
    lost = ticket("logistics", "reported")
    outbound = ShipmentFactory(order=lost.order, tracking_number="JD0001112223")
    lost.as_kind().__class__.objects.filter(pk=lost.pk).update(shipment=outbound)
    ticket("exchange", "requested")  # never found

    def found(term: str) -> list[str]:
        return listed(sup_client.get(reverse(LIST), {"q": term}))

    assert found(by_order.number) == [by_order.number]
    assert found(by_order.number.lower()) == [by_order.number]
    assert found(by_order.order.number) == [by_order.number]
    assert found("13912345678") == [by_buyer.number]
    assert found("林小") == [by_buyer.number]
    assert found("YT7788990011") == [returned.number]
    assert found("JD0001112223") == [lost.number]
    assert found("nothing-like-this") == []


def test_search_finds_buyers_by_the_beginning_of_their_name_only(sup_client):
    buyer = BuyerFactory(name="王芳")
    t = ticket("return", "requested", order=order_with_line(buyer=buyer, shop=buyer.shop))

    assert listed(sup_client.get(reverse(LIST), {"q": "王"})) == [t.number]
    assert listed(sup_client.get(reverse(LIST), {"q": "芳"})) == []


def test_past_the_cap_the_list_says_more_than_instead_of_counting_everything(sup_client, monkeypatch):
    monkeypatch.setattr(paging, "COUNT_CAP", 5)
    for _ in range(7):
        ticket("return", "requested")

    response = sup_client.get(reverse(LIST), {"kind__exact": "return"})

    assert response.context["cl"].paginator.count_kind == "capped"
    assert "more than 5 tickets" in response.content.decode()
    assert len(listed(response)) == 7  # one page of up to 50 rows shows them all


def test_below_the_cap_the_count_is_exact(sup_client):
    for _ in range(3):
        ticket("return", "requested")

    response = sup_client.get(reverse(LIST))

    assert response.context["cl"].paginator.count_kind == "exact"
    assert response.context["cl"].result_count == 3


@requires_postgres
def test_on_postgresql_the_unfiltered_list_takes_the_planners_estimate(sup_client, monkeypatch):
    monkeypatch.setattr(paging, "COUNT_CAP", 5)
    for _ in range(8):
        ticket("return", "requested")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_ticket")

    with CaptureQueriesContext(connection) as queries:
        response = sup_client.get(reverse(LIST))

    assert response.context["cl"].paginator.count_kind == "estimated"
    assert "about 8 tickets" in response.content.decode()
    # No COUNT(*) of the list (the queue tabs' counts, COUNT(id) FILTER over open tickets, are another query).
    assert not any("COUNT(*)" in q["sql"].upper() for q in queries.captured_queries)


def many_tickets(n: int, assignees: list) -> None:
    """``n`` tickets of every kind, over several shops, half of them assigned."""
    kinds = [
        ("return", "requested"),
        ("exchange", "received"),
        ("complaint", "investigating"),
        ("logistics", "reported"),
    ]
    shops = [ShopFactory() for _ in range(3)]
    with transaction.atomic():
        for i in range(n):
            kind, state = kinds[i % len(kinds)]
            order = OrderFactory(shop=shops[i % 3])
            OrderLineFactory(order=order)
            t = ticket_build(kind, state, order=order)
            if i % 2:
                assigned(t, assignees[i % len(assignees)])


@pytest.mark.parametrize("client_name", ["sup_client", "ops_client"])
def test_the_list_runs_the_same_queries_at_20_and_100_rows(request, settings, client_name, ops_user, supervisor):
    client = request.getfixturevalue(client_name)
    many_tickets(420, [ops_user, supervisor])
    counts = {}
    for per_page in (20, 100):
        settings.KEFU_ADMIN_TICKETS_PER_PAGE = per_page
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse(LIST))
        assert len(listed(response)) == per_page
        counts[per_page] = len(queries)
    assert counts[20] == counts[100], counts
    # session, user, permissions (user's, groups'), departments (member's, groups'), department names, staff
    # for the assignee filter, shops for the shop filter, the count, the page's ids, its rows, its buyers' risk
    # flags (risk.selectors.flags_of_tickets), the queue tabs' counts (one query); supervisors: staff
    # for "Assign to" and, for their unfiltered list on PostgreSQL, the planner's estimate (below the cap, then
    # counted).
    supervisor_list = client_name == "sup_client"
    expected = 14 + supervisor_list + (supervisor_list and connection.vendor == "postgresql")
    assert counts[20] == expected, counts


@requires_postgres
def test_on_postgresql_a_page_of_the_queue_is_read_through_the_urgency_index(sup_client):
    for _ in range(3):
        ticket("return", "requested")
    with CaptureQueriesContext(connection) as queries:
        sup_client.get(reverse(LIST))
    [page_ids] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "tickets_ticket"."id" AS')]

    with connection.cursor() as cursor:
        # A few rows would be read by a scan anyway; forbid it and sorting, to see whether the index gives the order.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + page_ids)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "ticket_urgent_idx" in plan and "Sort" not in plan, plan
