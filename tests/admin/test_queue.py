"""The queue (desk.admin.queue): each view lists the right tickets for the right user and its tab counts them,
the counts cost one query, the polled fragment keeps the page's filters, claiming from the list comes back
to it, and next/previous walk the view a ticket was opened from.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from tests.admin.conftest import LIST, listed, messages_of, page_url, ticket
from tests.factories.orders import OrderFactory, OrderLineFactory, ShopFactory
from tests.factories.tickets import ticket_build
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

FRAGMENT = "admin:tickets_ticket_queue"


def fix(t: Ticket, **fields) -> Ticket:
    """Set fields the way the services would have left them (routing, the sweep), bypassing the state machine."""
    Ticket.objects.filter(pk=t.pk).update(**fields)
    t.refresh_from_db()
    return t


def due(hours: float) -> dict:
    at = timezone.now() + timedelta(hours=hours)
    return {"step_due_at": at, "due_at": at}


@pytest.fixture
def desk(ops_user, wh_user):
    """Operations' and the warehouse's tickets, one or two per view."""
    return {
        "mine": fix(ticket("return", "requested"), assignee=ops_user, **due(3)),
        "team_soon": fix(ticket("return", "requested"), assignee=None, **due(0.5)),
        "team_late": fix(ticket("complaint", "open"), assignee=None, **due(-2)),
        "buyer": fix(ticket("return", "awaiting_return"), assignee=None, **due(48)),
        # Escalated by the sweep from operations to supervisors: operations still handle it.
        "escalated": fix(
            ticket("return", "requested"),
            assignee=None,
            department="supervisors",
            step_department="operations",
            escalation_level=1,
            **due(-5),
        ),
        "warehouse": fix(ticket("return", "received"), assignee=None, **due(-1)),
        "warehouse_mine": fix(ticket("return", "received"), assignee=wh_user, **due(10)),
        "closed": fix(ticket("return", "refunded"), assignee=ops_user),
    }


def numbers(*tickets: Ticket) -> set[str]:
    return {t.number for t in tickets}


def tab_counts(page: str) -> dict[str, int]:
    counts = {}
    for tab in re.findall(r'<a href="[^"]*" class="kefu-tab.*?</a>', page, flags=re.DOTALL):
        found = re.search(r'data-view="(\w+)".*data-count="(\d+)"', tab, flags=re.DOTALL)
        if found:
            counts[found.group(1)] = int(found.group(2))
    return counts


def test_each_view_lists_its_tickets_and_its_tab_counts_them_for_an_operations_agent(ops_client, desk):
    expected = {
        "mine": numbers(desk["mine"]),
        "team": numbers(desk["team_soon"], desk["team_late"]),  # not the warehouse's, not the escalated one
        "due_soon": numbers(desk["team_soon"]),
        "overdue": numbers(desk["team_late"], desk["escalated"]),
        # A ticket waiting on the buyer has no department, so it is out of department staff's scope
        # (access.visible_tickets); supervisors see them (below).
        "buyer": set(),
        "escalated": numbers(desk["escalated"]),
    }
    page = ops_client.get(reverse(LIST)).content.decode()
    assert tab_counts(page) == {view: len(found) for view, found in expected.items()}
    for view, found in expected.items():
        assert set(listed(ops_client.get(reverse(LIST), {"view": view}))) == found, view
    # No view: every ticket operations may see, as the list always was.
    everything = set(listed(ops_client.get(reverse(LIST))))
    assert numbers(desk["warehouse"], desk["warehouse_mine"]).isdisjoint(everything)
    assert set().union(*expected.values()) <= everything


def test_the_warehouse_sees_its_own_views(wh_client, desk):
    page = wh_client.get(reverse(LIST)).content.decode()
    assert tab_counts(page) == {"mine": 1, "team": 1, "due_soon": 0, "overdue": 1, "buyer": 0, "escalated": 0}
    assert listed(wh_client.get(reverse(LIST), {"view": "mine"})) == [desk["warehouse_mine"].number]
    assert listed(wh_client.get(reverse(LIST), {"view": "team"})) == [desk["warehouse"].number]


def test_a_supervisors_views_cover_every_department(sup_client, supervisor, desk):
    fix(desk["escalated"], assignee=supervisor)
    counts = tab_counts(sup_client.get(reverse(LIST)).content.decode())
    assert counts["mine"] == 1 and counts["escalated"] == 1 and counts["buyer"] == 1
    assert listed(sup_client.get(reverse(LIST), {"view": "buyer"})) == [desk["buyer"].number]
    assert counts["overdue"] == 3  # operations' two and the warehouse's
    assert counts["team"] == 0  # the supervisors' own department has no unassigned ticket


def test_the_current_tab_is_marked_and_the_tabs_keep_the_sort_but_not_the_filters(ops_client, desk):
    page = ops_client.get(reverse(LIST), {"view": "team", "kind__exact": "return", "o": "1"}).content.decode()
    current = re.search(r'<a href="([^"]*)" class="kefu-tab kefu-tab--current" data-view="(\w+)"', page)
    assert current and current.group(2) == "team"
    mine_link = re.search(r'<a href="([^"]*)" class="kefu-tab[^"]*" data-view="mine"', page).group(1)
    assert mine_link.replace("&amp;", "&") == "?o=1&view=mine"
    # Within a view, the list's own filters still narrow it.
    assert listed(ops_client.get(reverse(LIST), {"view": "team", "kind__exact": "return"})) == [
        desk["team_soon"].number
    ]


def test_an_unknown_view_is_the_whole_list(ops_client, desk):
    unknown = listed(ops_client.get(reverse(LIST), {"view": "nonsense"}))
    assert set(unknown) == set(listed(ops_client.get(reverse(LIST))))


def test_each_row_shows_the_time_left_chip_channel_and_assignee(ops_client, ops_user, desk):
    page = ops_client.get(reverse(LIST), {"view": "mine"}).content.decode()
    row = page[page.index(desk["mine"].number) :]
    row = row[: row.index("</tr>")]
    assert 'class="kefu-chip kefu-chip--soon"' in row and "2 hours 59 minutes left" in row
    assert desk["mine"].shop.get_channel_display() in row
    assert ops_user.username in row
    assert f'data-ticket-id="{desk["mine"].pk}"' in row and f'data-version="{desk["mine"].version}"' in row


# -- the polled fragment -----------------------------------------------------------------------------------


def test_the_fragment_has_the_tabs_rows_and_pages_and_keeps_the_pages_query(ops_client, desk):
    query = {"view": "team", "kind__exact": "complaint"}
    response = ops_client.get(reverse(FRAGMENT), query)

    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    body = response.content.decode()
    for part in ('id="kefu-queue-tabs"', 'id="kefu-queue-rows"', 'id="kefu-queue-pages"'):
        assert part in body and body.count("hx-swap-oob") == 3
    assert "<html" not in body and "changelist-filter" not in body  # a fragment, not the page
    assert listed(response) == [desk["team_late"].number]
    # The rows' links keep the list the agent is on, as the page's own links do.
    link = re.search(r'<a href="([^"]+)"><span class="kefu-number">' + desk["team_late"].number, body).group(1)
    link = link.replace("&amp;", "&")
    assert link == page_url(desk["team_late"]) + "?" + urlencode({"_changelist_filters": urlencode(query)})
    assert tab_counts(body)["team"] == 2


def test_the_fragment_sees_another_agents_change(ops_client, desk, django_user_model):
    before = tab_counts(ops_client.get(reverse(FRAGMENT), {"view": "team"}).content.decode())
    fix(desk["team_soon"], assignee=django_user_model.objects.get(username="wh-bob"))
    after = ops_client.get(reverse(FRAGMENT), {"view": "team"})
    assert tab_counts(after.content.decode())["team"] == before["team"] - 1
    assert listed(after) == [desk["team_late"].number]


def test_the_fragment_answers_nothing_to_swap_when_the_page_is_gone(ops_client, desk):
    assert ops_client.get(reverse(FRAGMENT), {"view": "mine", "created_at__gte": "yesterday"}).status_code == 204
    assert ops_client.post(reverse(FRAGMENT)).status_code == 405


def test_the_page_polls_the_fragment_with_its_own_query(ops_client, desk):
    page = ops_client.get(reverse(LIST), {"view": "overdue", "q": "x"}).content.decode()
    poll = re.search(r'id="kefu-queue-poll" hidden hx-get="([^"]+)" hx-trigger="every (\d+)s"', page)
    assert poll.group(1).replace("&amp;", "&") == reverse(FRAGMENT) + "?view=overdue&q=x"
    assert 15 <= int(poll.group(2)) <= 30


def many(n: int, user) -> None:
    shop = ShopFactory()
    with transaction.atomic():
        for i in range(n):
            order = OrderFactory(shop=shop)
            OrderLineFactory(order=order)
            t = ticket_build("return", "requested", order=order)
            late = {"step_due_at": timezone.now() - timedelta(hours=1)} if i % 3 else {}
            Ticket.objects.filter(pk=t.pk).update(assignee=user if i % 2 else None, **late)


@pytest.mark.parametrize("view", ["", "mine", "team", "overdue"])
def test_the_page_and_the_fragment_cost_the_same_queries_at_4_and_40_tickets(
    ops_client, ops_user, settings, django_assert_max_num_queries, view
):
    settings.KEFU_ADMIN_TICKETS_PER_PAGE = 100
    many(4, ops_user)
    # session, user, permissions ×2, departments ×2, department names, staff (assignee filter), shops, the
    # count, the page's ids, its rows, its risk flags, the tabs' counts (one query for all six).
    with django_assert_max_num_queries(14):
        ops_client.get(reverse(LIST), {"view": view})
    with django_assert_max_num_queries(14):
        ops_client.get(reverse(FRAGMENT), {"view": view})
    many(36, ops_user)
    with django_assert_max_num_queries(14):
        ops_client.get(reverse(LIST), {"view": view})
    with django_assert_max_num_queries(14):
        response = ops_client.get(reverse(FRAGMENT), {"view": view})
    assert len(listed(response)) >= 12


# -- claiming from the list ---------------------------------------------------------------------------------


def claim(client, t: Ticket, *, version: int | None = None, back: str = "/admin/tickets/ticket/?view=team"):
    return client.post(
        reverse("admin:tickets_ticket_queue_claim", args=[t.pk]),
        {"version": t.version if version is None else version, "next": back},
    )


def test_claiming_the_selected_row_assigns_it_and_returns_to_the_list(ops_client, ops_user, desk):
    response = claim(ops_client, desk["team_soon"])

    assert response.status_code == 302 and response["Location"] == "/admin/tickets/ticket/?view=team"
    assert Ticket.objects.get(pk=desk["team_soon"].pk).assignee == ops_user
    page = ops_client.get(response["Location"])
    assert any(desk["team_soon"].number in m for m in messages_of(page))
    assert listed(page) == [desk["team_late"].number]


def test_a_claim_refused_says_why_on_the_list(ops_client, wh_user, desk):
    fix(desk["team_soon"], assignee=wh_user)
    response = claim(ops_client, desk["team_soon"])
    assert response["Location"] == "/admin/tickets/ticket/?view=team"
    assert any("already claimed" in m for m in messages_of(ops_client.get(response["Location"])))


def test_a_claim_never_returns_to_another_site(ops_client, desk):
    response = claim(ops_client, desk["team_soon"], back="https://evil.example/")
    assert response["Location"] == page_url(desk["team_soon"])


# -- next and previous ticket in a view ---------------------------------------------------------------------


def move(client, t: Ticket, direction: str, **filters):
    query = {"_changelist_filters": urlencode(filters)} if filters else {}
    return client.get(reverse(f"admin:tickets_ticket_{direction}", args=[t.pk]), query)


def test_next_and_previous_walk_the_view_in_the_lists_order_keeping_the_view(ops_client, desk):
    late, soon = desk["team_late"], desk["team_soon"]  # overdue first, then the one due soonest
    keep = "?" + urlencode({"_changelist_filters": "view=team"})

    assert move(ops_client, late, "next", view="team")["Location"] == page_url(soon) + keep
    assert move(ops_client, soon, "previous", view="team")["Location"] == page_url(late) + keep
    at_end = move(ops_client, soon, "next", view="team")
    assert at_end["Location"] == page_url(soon) + keep
    assert "This is the last ticket in this view." in messages_of(ops_client.get(at_end["Location"]))


def test_next_after_a_ticket_that_left_the_view_is_the_one_that_followed_it(ops_client, ops_user, desk):
    late = desk["team_late"]
    fix(late, assignee=ops_user)  # claimed: no longer unassigned
    assert move(ops_client, late, "next", view="team")["Location"].startswith(page_url(desk["team_soon"]))


def test_next_without_a_view_walks_the_whole_list(ops_client, desk):
    ids = [Ticket.objects.get(number=n).pk for n in listed(ops_client.get(reverse(LIST)))]
    response = move(ops_client, Ticket.objects.get(pk=ids[0]), "next")
    assert response["Location"] == page_url(Ticket.objects.get(pk=ids[1]))


# -- the shortcuts on every admin page ----------------------------------------------------------------------


def test_every_admin_page_loads_the_shortcuts_and_a_ticket_page_knows_its_neighbours(ops_client, desk):
    index = ops_client.get(reverse("admin:index")).content.decode()
    assert 'id="kefu-shortcuts-script"' in index and "data-next-url" not in index

    filters = urlencode({"_changelist_filters": "view=team"})
    page = ops_client.get(page_url(desk["team_late"]) + "?" + filters).content.decode()
    next_url = re.search(r'data-next-url="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert next_url == reverse("admin:tickets_ticket_next", args=[desk["team_late"].pk]) + "?" + filters


def test_the_queue_declares_its_keys(ops_client, desk):
    page = ops_client.get(reverse(LIST)).content.decode()
    keys = set(re.findall(r'data-shortcut="([^"]+)"', page))
    assert {"0", "1", "2", "3", "4", "5", "6", "j", "k", "Enter o", "/", "c"} <= keys
