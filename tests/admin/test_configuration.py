"""Configuration pages: each add/change form refuses what would silently not work, saying why; API keys are
shown once and stored as a hash; revoking one locks its storefront out.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from rest_framework.test import APIClient

from api.models import ApiKey, hash_secret
from desk.admin.notifications import template_problem
from notifications.defaults import DEFAULT_TEMPLATES
from notifications.models import Template
from routing.models import DeadlinePolicy, Department, StaffMember
from tests.admin.conftest import desk_user, messages_of
from tests.factories.orders import ShopFactory
from tests.factories.tickets import user_create
from tickets.models import ReasonCode

pytestmark = pytest.mark.django_db


def errors_of(response) -> dict[str, list[str]]:
    """The form's errors (field → messages; ``__all__`` for the form's own) on a page that came back."""
    assert response.status_code == 200, response.status_code
    form = response.context["adminform"].form
    return {field: [str(e) for e in errs] for field, errs in form.errors.items()}


@pytest.mark.parametrize(
    "model",
    [
        "orders_shop",
        "api_apikey",
        "routing_department",
        "routing_staffmember",
        "routing_routingrule",
        "routing_deadlinepolicy",
        "notifications_template",
        "notifications_shopchannels",
        "notifications_departmentrobot",
        "tickets_reasoncode",
    ],
)
def test_every_configuration_page_opens_for_a_supervisor(sup_client, model):
    assert sup_client.get(reverse(f"admin:{model}_changelist")).status_code == 200
    assert sup_client.get(reverse(f"admin:{model}_add")).status_code == 200


def test_existing_rows_open_for_a_supervisor(sup_client):
    shop = ShopFactory()
    for url in (
        reverse("admin:orders_shop_change", args=[shop.pk]),
        reverse("admin:routing_department_change", args=[Department.objects.get(code="warehouse").pk]),
        reverse("admin:notifications_template_change", args=[Template.objects.first().pk]),
        reverse("admin:tickets_reasoncode_change", args=[ReasonCode.objects.first().pk]),
    ):
        assert sup_client.get(url).status_code == 200, url


# -- shops and API keys -----------------------------------------------------------------------------------


def shop_form(shop, **changes):
    return {
        "name": shop.name,
        "code": shop.code,
        "channel": shop.channel,
        "return_window_days": 7,
        "webhook_url": "",
        "webhook_secret": "",
        **changes,
    }


def test_a_shop_webhook_needs_a_long_enough_signing_secret(sup_client):
    shop = ShopFactory()
    url = reverse("admin:orders_shop_change", args=[shop.pk])

    no_secret = sup_client.post(url, shop_form(shop, webhook_url="https://shop.example.com/hook"))
    short = sup_client.post(url, shop_form(shop, webhook_url="https://shop.example.com/hook", webhook_secret="abc"))
    too_long_window = sup_client.post(url, shop_form(shop, return_window_days=400))
    ok = sup_client.post(
        url, shop_form(shop, webhook_url="shop.example.com/hook", webhook_secret="s3cr3t-s3cr3t-s3cr3t")
    )

    assert "every webhook is signed with it" in errors_of(no_secret)["webhook_secret"][0]
    assert errors_of(short)["webhook_secret"] == [
        "Use at least 16 random characters, so the signature cannot be guessed."
    ]
    assert errors_of(too_long_window)["return_window_days"] == ["At most 365 days."]
    assert ok.status_code == 302
    shop.refresh_from_db()
    assert shop.webhook_url == "https://shop.example.com/hook"


def test_the_shop_page_lists_its_keys_and_links_to_create_one(sup_client):
    shop = ShopFactory()
    ApiKey.issue(shop=shop, name="storefront backend")

    page = sup_client.get(reverse("admin:orders_shop_change", args=[shop.pk])).content.decode()

    assert "storefront backend" in page
    assert f"{reverse('admin:api_apikey_add')}?shop={shop.pk}" in page


def test_a_new_api_key_is_shown_once_and_stored_only_as_its_hash(sup_client, supervisor):
    shop = ShopFactory()

    response = sup_client.post(reverse("admin:api_apikey_add"), {"shop": shop.pk, "name": "小程序后端"}, follow=True)

    key = ApiKey.objects.get(shop=shop)
    [shown] = [m for m in messages_of(response) if "copy it now" in m]
    raw = shown.split(" is ", 1)[1].split(" ", 1)[0]
    prefix, secret = raw.split("_")[1], raw.split("_", 2)[2]
    assert (key.prefix, key.hashed_secret, key.created_by) == (prefix, hash_secret(secret), supervisor)
    stored = " ".join(str(v) for v in ApiKey.objects.filter(pk=key.pk).values().get().values())
    assert secret not in stored
    # Never again: not on the key's page, not in the list.
    for url in (reverse("admin:api_apikey_change", args=[key.pk]), reverse("admin:api_apikey_changelist")):
        assert secret not in sup_client.get(url).content.decode()
    # The storefront can use it.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert client.get(reverse("api:ticket-list")).status_code == 200


def test_revoking_a_key_locks_its_storefront_out(sup_client):
    shop = ShopFactory()
    key, raw = ApiKey.issue(shop=shop, name="old backend")
    other, _ = ApiKey.issue(shop=shop, name="new backend")

    response = sup_client.post(
        reverse("admin:api_apikey_changelist"),
        {"action": "revoke", "_selected_action": [key.pk], "index": 0},
        follow=True,
    )

    key.refresh_from_db()
    other.refresh_from_db()
    assert key.revoked_at is not None and other.revoked_at is None
    assert (
        "1 API key revoked: requests with it are refused within 30 seconds at the latest "
        "(servers keep a verified key that long)." in messages_of(response)
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert client.get(reverse("api:ticket-list")).status_code == 401
    assert sup_client.get(reverse("admin:api_apikey_delete", args=[key.pk])).status_code == 403


# -- departments and members ------------------------------------------------------------------------------


def department_form(**changes):
    return {
        "code": "returns-backup",
        "name": "退货后备",
        "strategy": "least_loaded",
        "overflow_threshold": "",
        "backup": "",
        "StaffMember_departments-TOTAL_FORMS": 0,
        "StaffMember_departments-INITIAL_FORMS": 0,
        **changes,
    }


def test_overflow_needs_both_a_threshold_and_a_backup_pool(sup_client):
    url = reverse("admin:routing_department_add")
    backup = Department.objects.get(code="operations")

    no_backup = sup_client.post(url, department_form(overflow_threshold=20))
    no_threshold = sup_client.post(url, department_form(backup=backup.pk))
    ok = sup_client.post(url, department_form(overflow_threshold=20, backup=backup.pk))

    assert "Choose the backup pool" in errors_of(no_backup)["backup"][0]
    assert "Set the number of unassigned open tickets" in errors_of(no_threshold)["overflow_threshold"][0]
    assert ok.status_code == 302 and Department.objects.filter(code="returns-backup").exists()


def test_a_departments_code_is_fixed_and_the_four_defaults_cannot_be_deleted(sup_client):
    warehouse = Department.objects.get(code="warehouse")

    page = sup_client.get(reverse("admin:routing_department_change", args=[warehouse.pk]))

    assert "code" in page.context["adminform"].readonly_fields
    assert sup_client.get(reverse("admin:routing_department_delete", args=[warehouse.pk])).status_code == 403


def test_a_department_code_naming_an_actor_is_refused_with_the_reason_in_the_users_language(sup_client):
    response = sup_client.post(
        reverse("admin:routing_department_add"),
        {
            "code": "system",
            "name": "系统组",
            "strategy": "least_loaded",
            "members-TOTAL_FORMS": 0,
            "members-INITIAL_FORMS": 0,
        },
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )

    assert response.status_code == 200 and not Department.objects.filter(code="system").exists()
    errors = response.context["adminform"].form.errors["code"]
    assert "不是部门" in errors[0], errors


def test_a_member_needs_a_department_and_an_admin_login(sup_client):
    url = reverse("admin:routing_staffmember_add")
    outsider = user_create("outsider")  # not staff
    newcomer = user_create("newcomer", is_staff=True)

    none = sup_client.post(url, {"user": newcomer.pk, "on_duty": "on", "max_open_tickets": 30})
    not_staff = sup_client.post(
        url,
        {
            "user": outsider.pk,
            "departments": [Department.objects.get(code="warehouse").pk],
            "on_duty": "on",
            "max_open_tickets": 30,
        },
    )

    assert errors_of(none)["departments"] == [
        "Choose at least one department: a member of none is never given tickets."
    ]
    assert "cannot log into the admin" in errors_of(not_staff)["user"][0]


def test_a_members_departments_give_the_matching_admin_groups(sup_client):
    user = desk_user("operations", username="mover")
    member = StaffMember.objects.get(user=user)
    warehouse = Department.objects.get(code="warehouse")

    response = sup_client.post(
        reverse("admin:routing_staffmember_change", args=[member.pk]),
        {"user": user.pk, "departments": [warehouse.pk], "on_duty": "on", "max_open_tickets": 30},
    )

    assert response.status_code == 302
    assert list(user.groups.values_list("name", flat=True)) == ["warehouse"]
    assert Group.objects.get(name="operations").user_set.filter(pk=user.pk).count() == 0


# -- rules, policies, templates, reasons -------------------------------------------------------------------


def test_a_routing_rule_for_a_state_the_kind_does_not_have_is_refused(sup_client):
    response = sup_client.post(
        reverse("admin:routing_routingrule_add"),
        {
            "name": "VIP",
            "position": 10,
            "active": "on",
            "kind": "complaint",
            "state": "received",
            "department": Department.objects.get(code="supervisors").pk,
        },
    )

    assert errors_of(response)["state"] == ["'received' is not a state of complaint tickets."]


def test_a_deadline_policy_needs_time(sup_client):
    response = sup_client.post(
        reverse("admin:routing_deadlinepolicy_add"),
        {
            "name": "zero",
            "kind": "return",
            "state": "requested",
            "duration": "0",
            "warn_at_percent": 80,
            "active": "on",
        },
    )

    assert errors_of(response)["duration"] == ["The time allowed must be above zero."]
    assert not DeadlinePolicy.objects.exists()


def template_form(body: str, subject: str = ""):
    return {
        "event": "state_changed",
        "channel": "sms",
        "language": "en",
        "subject": subject,
        "body": body,
        "active": "on",
    }


def test_a_template_with_a_syntax_error_or_an_unknown_variable_is_refused_saying_why(sup_client):
    url = reverse("admin:notifications_template_add")

    broken = sup_client.post(url, template_form("Ticket {{ ticket.number }} {% if reason %}"))
    typo = sup_client.post(url, template_form("Ticket {{ ticket.numbr }} is {{ ticket.state_label }}"))
    ok = sup_client.post(url, template_form("Ticket {{ ticket.number }} is {{ ticket.state_label }}"))

    assert errors_of(broken)["body"][0].startswith("Template error: Unclosed tag")
    [message] = errors_of(typo)["body"]
    assert message.startswith("Unknown variable ticket.numbr. Templates may use: ticket.number, ")
    assert ok.status_code == 302


def test_the_shipped_templates_pass_the_check():
    sources = [s for pair in DEFAULT_TEMPLATES.values() for s in pair]
    sources += [s for t in Template.objects.all() for s in (t.subject, t.body)]
    assert [(s, template_problem(s)) for s in sources if template_problem(s)] == []


def test_an_active_reason_must_be_offered_for_some_kind(sup_client):
    reason = ReasonCode.objects.get(code="damaged")

    response = sup_client.post(
        reverse("admin:tickets_reasoncode_change", args=[reason.pk]),
        {"label_zh": "破损", "label_en": "Broken", "active": "on", "sort_order": 5},
    )

    assert errors_of(response)["kinds"] == [
        "An active reason must be offered for at least one ticket kind; tick one or switch it off."
    ]


def test_rules_are_reordered_from_the_list(sup_client):
    from routing.models import RoutingRule

    first = RoutingRule.objects.create(name="a", position=10, priority=30)
    second = RoutingRule.objects.create(name="b", position=20, priority=30)

    response = sup_client.post(
        reverse("admin:routing_routingrule_changelist"),
        {
            "form-TOTAL_FORMS": 2,
            "form-INITIAL_FORMS": 2,
            "form-0-id": first.pk,
            "form-0-position": 30,
            "form-0-active": "on",
            "form-1-id": second.pk,
            "form-1-position": 20,
            "form-1-active": "on",
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    assert list(RoutingRule.objects.order_by("position").values_list("name", flat=True)) == ["b", "a"]
