"""Department staff see and work only their department's tickets, and no configuration; supervisors see and
do everything. Set up by the accounts migration's groups, as in production.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts.groups import GROUPS
from tests.admin.conftest import LIST, action_url, desk_user, listed, logged_in, messages_of, page_url, ticket
from tests.factories.tickets import ticket_reload, user_create
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db

# Every configuration page: none opens for department staff, all open for supervisors.
CONFIG = [
    "orders_shop",
    "api_apikey",
    "routing_department",
    "routing_staffmember",
    "routing_routingrule",
    "routing_deadlinepolicy",
    "notifications_template",
    "notifications_shopchannels",
    "notifications_departmentrobot",
    "notifications_notification",
    "tickets_reasoncode",
    "tickets_refund",
]


@pytest.fixture
def tickets_of_each_department():
    return {
        "operations": ticket("return", "requested"),
        "warehouse": ticket("return", "return_in_transit"),
        "logistics": ticket("logistics", "reported"),
        "buyer": ticket("exchange", "awaiting_return"),
    }


def test_warehouse_staff_see_only_warehouse_tickets(wh_client, tickets_of_each_department):
    response = wh_client.get(reverse(LIST))

    assert listed(response) == [tickets_of_each_department["warehouse"].number]
    assert listed(wh_client.get(reverse(LIST), {"q": tickets_of_each_department["operations"].number})) == []
    assert listed(wh_client.get(reverse(LIST), {"department": "operations"})) == []
    [departments] = [f for f in response.context["cl"].filter_specs if getattr(f, "parameter_name", "") == "department"]
    assert departments.lookup_choices == [("warehouse", "仓库 Warehouse")]


def test_supervisors_see_every_ticket(sup_client, tickets_of_each_department):
    everything = sorted(t.number for t in tickets_of_each_department.values())
    assert sorted(listed(sup_client.get(reverse(LIST)))) == everything


def test_another_departments_ticket_does_not_open_even_by_url(wh_client, tickets_of_each_department):
    ops_ticket = tickets_of_each_department["operations"]

    response = wh_client.get(page_url(ops_ticket), follow=True)

    assert response.redirect_chain == [(reverse(LIST), 302)]
    assert messages_of(response) == [
        f"Ticket {ops_ticket.number} is not in your department's queue, so you cannot open it."
    ]
    history = wh_client.get(reverse("admin:tickets_ticket_history", args=[ops_ticket.pk]))
    assert history.status_code == 302


def test_nor_can_it_be_acted_on_by_posting_to_its_buttons(wh_client, tickets_of_each_department):
    ops_ticket = tickets_of_each_department["operations"]
    events = TicketEvent.objects.filter(ticket_id=ops_ticket.pk).count()

    posts = [
        wh_client.post(action_url(ops_ticket, "approve"), {"approve-version": 0}, follow=True),
        wh_client.post(reverse("admin:tickets_ticket_claim", args=[ops_ticket.pk]), {"version": 0}, follow=True),
        wh_client.post(reverse("admin:tickets_ticket_comment", args=[ops_ticket.pk]), {"body": "x"}, follow=True),
        wh_client.post(
            reverse(LIST), {"action": "bulk_approve", "_selected_action": [ops_ticket.pk], "index": 0}, follow=True
        ),
    ]

    ops_ticket = ticket_reload(ops_ticket)
    assert (ops_ticket.state, ops_ticket.assignee_id) == ("requested", None)
    assert TicketEvent.objects.filter(ticket_id=ops_ticket.pk).count() == events
    for response in posts[:3]:
        assert any("not in your department's queue" in m for m in messages_of(response))
    assert not any("succeeded" in m for m in messages_of(posts[3]))


def test_warehouse_runs_only_warehouse_transitions_and_marks_a_return_received(wh_client, tickets_of_each_department):
    parcel = tickets_of_each_department["warehouse"]
    page = wh_client.get(page_url(parcel))
    assert [b["name"] for b in page.context["transition_buttons"]] == ["receive"]

    response = wh_client.post(action_url(parcel, "receive"), {"receive-version": parcel.version}, follow=True)

    assert ticket_reload(parcel).state == "received"
    assert f"Mark parcel received: ticket {parcel.number} is now Received." in messages_of(response)


def test_department_staff_cannot_open_configuration(wh_client, sup_client):
    for model in CONFIG:
        for view in ("changelist", "add"):
            url = reverse(f"admin:{model}_{view}")
            assert wh_client.get(url).status_code == 403, url
        assert sup_client.get(reverse(f"admin:{model}_changelist")).status_code == 200, model
    index = wh_client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:tickets_ticket_changelist") in index
    assert reverse("admin:routing_routingrule_changelist") not in index


def test_department_staff_have_no_bulk_assign_and_no_reassign(ops_client, tickets_of_each_department):
    response = ops_client.get(reverse(LIST))

    actions = dict(response.context["action_form"].fields["action"].choices)
    assert "bulk_claim" in actions and "bulk_approve" in actions
    assert "bulk_assign" not in actions and "bulk_unassign" not in actions
    assert "assignee" not in response.context["action_form"].fields


def test_staff_without_a_department_see_no_ticket(tickets_of_each_department):
    user = user_create("newbie", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    client = logged_in(user)

    assert listed(client.get(reverse(LIST))) == []
    assert client.get(page_url(tickets_of_each_department["operations"])).status_code == 302


def test_staff_in_no_group_cannot_open_the_tickets_at_all():
    client = logged_in(user_create("visitor", is_staff=True))

    assert client.get(reverse(LIST)).status_code == 403


def test_a_viewer_without_the_act_permission_gets_no_buttons(tickets_of_each_department):
    user = desk_user("operations", username="ops-viewer")
    user.groups.clear()
    user.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    client = logged_in(user)
    t = tickets_of_each_department["operations"]

    page = client.get(page_url(t))

    assert page.context["transition_buttons"] == [] and page.context["comment_form"] is None
    assert client.post(action_url(t, "approve"), {"approve-version": 0}).status_code == 403


def test_the_groups_hold_what_the_accounts_module_says_and_no_department_configures():
    for name, grants in GROUPS.items():
        held = {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=name).permissions.all()}
        expected = {
            # A model's own permission is named by its full codename (accounts.groups.BUYER_CONTACT).
            f"{model.split('.')[0]}.{action if '_' in action else f'{action}_' + model.split('.')[1]}"
            for model, actions in grants.items()
            for action in actions
        }
        assert held == expected, name
    department = {p.codename for p in Group.objects.get(name="warehouse").permissions.all()}
    assert department == {
        *("view_ticket", "change_ticket", "view_order", "view_buyer", "view_shipment"),
        *("view_compensationpayout", "add_compensationpayout", "view_couponcode", "view_riskflag"),
    }
    supervisors = {p.codename for p in Group.objects.get(name="supervisors").permissions.all()}
    assert "view_buyer_contact" in supervisors and "view_buyer_contact" not in department


def test_staff_pay_compensations_and_see_flags_supervisors_run_risk_rules_and_coupons_and_keys_stay_superusers(
    ops_client, wh_client, sup_client
):
    """Issue 14's pages for the groups that use them: a department's staff pay a compensation (the payout form)
    and see risk flags; supervisors also manage coupon pools, risk thresholds and fast-refund rules; payment
    accounts (the providers' keys) open for superusers only."""
    staff_pages = ("payments_compensationpayout_add", "payments_couponcode_changelist", "risk_riskflag_changelist")
    supervisor_pages = ("risk_riskpolicy_add", "risk_fastrefundrule_add", "payments_couponcode_add")
    for client in (ops_client, wh_client):
        for page in staff_pages:
            assert client.get(reverse(f"admin:{page}")).status_code == 200, page
        for page in supervisor_pages:
            assert client.get(reverse(f"admin:{page}")).status_code == 403, page
    for page in (*staff_pages, *supervisor_pages, "risk_buyerprofile_changelist"):
        assert sup_client.get(reverse(f"admin:{page}")).status_code == 200, page
    for client in (ops_client, sup_client):
        assert client.get(reverse("admin:payments_paymentaccount_changelist")).status_code == 403
