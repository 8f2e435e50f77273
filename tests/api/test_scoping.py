"""Scopes beyond the matrix: list filters never reach another shop's or department's rows, a department may
run only the transitions it owns on the tickets it sees (403 ``not_permitted``, decided by the state
machine), supervisors see everything, and staff may use a session as well as a token."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import assert_error, staff, staff_user, url
from tests.factories.tickets import ticket_reload

pytestmark = pytest.mark.django_db


def numbers(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["number"] for row in response.json()["results"]}


def test_storefront_list_filters_cannot_reach_another_shops_rows(shop_a, shop_b):
    mine = shop_b.ticket("return", "requested")
    theirs = [shop_a.ticket(kind) for kind in ("return", "exchange", "complaint", "logistics")]
    order, buyer = theirs[0].order.number, theirs[0].buyer.external_id
    for query in (
        {},
        {"order": order},
        {"buyer": buyer},
        {"kind": "return"},
        {"state": "requested"},
        {"created_after": "2000-01-01T00:00:00Z"},
        {"page_size": 100},
    ):
        assert numbers(shop_b.client.get(url("ticket-list"), query)) <= {mine.number}, query
    assert numbers(shop_b.client.get(url("ticket-list"))) == {mine.number}
    assert numbers(shop_a.client.get(url("ticket-list"))) == {t.number for t in theirs}
    # The same order number in both shops: each key reads its own.
    own = shop_b.order(number=order)
    assert shop_b.client.get(url("order", number=order)).json()["buyer_id"] == own.buyer.external_id


def test_a_department_queue_holds_only_its_own_tickets(shop_a, shop_b):
    ops = staff("operations")
    for_ops = {shop_a.ticket("return", "requested").number, shop_b.ticket("complaint", "open").number}
    for_others = {
        shop_a.ticket("return", "received").number,  # warehouse
        shop_b.ticket("logistics", "reported").number,  # logistics
        shop_a.ticket("return", "arbitration").number,  # supervisors
        shop_a.ticket("return", "awaiting_return").number,  # waiting on the buyer: no department's
    }
    assert numbers(ops.client.get(url("staff-queue"))) == for_ops
    assert numbers(ops.client.get(url("staff-queue"), {"department": "warehouse"})) == set()
    assert numbers(ops.client.get(url("staff-queue"), {"kind": "logistics"})) == set()
    supervisor = staff("supervisors")
    # Supervisors see every open ticket, also those waiting on the buyer.
    assert numbers(supervisor.client.get(url("staff-queue"), {"page_size": 100})) == for_ops | for_others


def test_a_superuser_counts_as_a_supervisor(shop_a):
    ticket = shop_a.ticket("return", "arbitration")
    root = staff(superuser=True)
    assert root.client.get(url("staff-ticket-detail", number=ticket.number)).status_code == 200
    response = root.client.post(url("staff-ticket-transition", number=ticket.number, transition="uphold_buyer"))
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "awaiting_return"


def test_staff_without_a_department_see_nothing(shop_a):
    ticket = shop_a.ticket("return", "requested")
    nobody = staff()
    assert numbers(nobody.client.get(url("staff-queue"))) == set()
    assert_error(nobody.client.get(url("staff-ticket-detail", number=ticket.number)), 404, "not_found")


# (department, kind, state, transition, body): the ticket is in the department's queue, the state allows
# the transition, but another role owns it.
NOT_OWNED = [
    ("operations", "return", "requested", "cancel", {}),
    ("operations", "complaint", "open", "dismiss", {"reason": "无理投诉"}),
    ("operations", "complaint", "open", "cancel", {}),
    ("logistics", "logistics", "reported", "cancel", {}),
    ("supervisors", "return", "arbitration", "cancel", {}),
    ("supervisors", "complaint", "resolution_proposed", "accept_resolution", {}),
]


@pytest.mark.parametrize(("department", "kind", "state", "transition", "body"), NOT_OWNED)
def test_a_transition_another_role_owns_is_403(shop_a, department, kind, state, transition, body):
    ticket = shop_a.ticket(kind, state)
    member = staff(department)
    # Visible to them (their queue, or a supervisor's view of everything).
    assert member.client.get(url("staff-ticket-detail", number=ticket.number)).status_code == 200
    names = [a["name"] for a in member.client.get(url("staff-ticket-detail", number=ticket.number)).json()["actions"]]
    assert transition not in names
    response = member.client.post(
        url("staff-ticket-transition", number=ticket.number, transition=transition), body, format="json"
    )
    assert_error(response, 403, "not_permitted")
    after = ticket_reload(ticket)
    assert (after.state, after.version) == (state, ticket.version)


@pytest.mark.parametrize("transition", ["expire", "complete_refund", "auto_refund"])
def test_system_only_transitions_are_not_offered_through_the_api(shop_a, transition):
    ticket = shop_a.ticket("return", "refund_pending", approved_amount=50)
    supervisor = staff("supervisors")
    response = supervisor.client.post(url("staff-ticket-transition", number=ticket.number, transition=transition))
    assert_error(response, 409, "transition_not_allowed", "action")
    assert ticket_reload(ticket).state == "refund_pending"


def test_staff_may_use_a_session(shop_a):
    ticket = shop_a.ticket("return", "requested")
    client = APIClient()
    client.force_login(staff_user("operations"))
    assert numbers(client.get(url("staff-queue"))) == {ticket.number}
    assert client.get(url("staff-ticket-detail", number=ticket.number)).status_code == 200
    assert_error(client.get(url("ticket-list")), 403, "permission_denied")


def test_a_session_post_needs_the_csrf_token(shop_a):
    ticket = shop_a.ticket("return", "requested")
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff_user("operations"))
    response = client.post(url("staff-ticket-comment", number=ticket.number), {"body": "x"}, format="json")
    assert_error(response, 403, "permission_denied")


def test_an_escalated_complaint_stays_visible_to_the_operations_staff_handling_it(shop_a):
    """Issue 12: escalated to supervisors, a complaint answered 404 to operations, who may still propose the
    resolution there (the state machine lets them)."""
    ops = staff("operations")
    complaint = shop_a.ticket("complaint", "investigating")
    escalated = ops.client.post(url("staff-ticket-transition", number=complaint.number, transition="escalate"))
    assert escalated.status_code == 200, escalated.content
    assert escalated.json()["state"] == "escalated"

    detail = ops.client.get(url("staff-ticket-detail", number=complaint.number))
    assert detail.status_code == 200, detail.content
    assert complaint.number in numbers(ops.client.get(url("staff-queue")))
    proposed = ops.client.post(
        url("staff-ticket-transition", number=complaint.number, transition="propose_resolution"),
        {"resolution": "退还运费并致歉"},
        format="json",
    )
    assert proposed.status_code == 200, proposed.content
    # Another department still sees nothing of it.
    assert staff("warehouse").client.get(url("staff-ticket-detail", number=complaint.number)).status_code == 404


def test_a_ticket_the_sweep_escalated_stays_visible_to_the_department_whose_step_ran_out(shop_a, clock):
    from datetime import timedelta

    from tickets.services.deadlines import sweep_due

    ops = staff("operations")
    complaint = shop_a.ticket("complaint", "open")
    clock.shift(timedelta(hours=2, seconds=1))
    assert sweep_due().escalated == 1
    assert ticket_reload(complaint).department == "supervisors"
    assert ops.client.get(url("staff-ticket-detail", number=complaint.number)).status_code == 200
    assert staff("logistics").client.get(url("staff-ticket-detail", number=complaint.number)).status_code == 404
