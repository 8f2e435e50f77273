"""The admin's permission groups: one per department, named as the department's code.

``tickets.actors.staff_departments`` reads these group names as departments, and the admin reads their
permissions: department staff see and work tickets (scoped to their department by ``desk.admin.access``)
and look up orders, but open no configuration; supervisors also configure everything the desk runs on.
Superusers need no group.

``groups_ensure`` makes the groups hold exactly these permissions. Migrations call it (0001 creates them);
when a model is added to the desk, add its permissions here and a migration that calls ``groups_ensure``
again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.apps import apps as global_apps
from django.apps.registry import Apps

if TYPE_CHECKING:
    from django.contrib.auth.models import User

VIEW, ADD, CHANGE, DELETE = "view", "add", "change", "delete"
ALL = (VIEW, ADD, CHANGE, DELETE)
# A model's own permission (Meta.permissions), by its full codename: see the buyer's contact (tickets.privacy).
BUYER_CONTACT = "view_buyer_contact"

# What every department's staff may do: see their queue, act on its tickets (``change_ticket`` is the
# admin's "may run services on tickets": the ticket form itself is never editable), read orders.
DEPARTMENT_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "tickets.ticket": (VIEW, CHANGE),
    "orders.order": (VIEW,),
    "orders.buyer": (VIEW,),
    "orders.shipment": (VIEW,),
    # Paying a compensation (payments.services.payouts: only operations or logistics staff may) and the coupons
    # it draws from; a buyer's risk flags are shown on the ticket page and in the queue to everyone who works it.
    "payments.compensationpayout": (VIEW, ADD),
    "payments.couponcode": (VIEW,),
    "risk.riskflag": (VIEW,),
}

# Supervisors: everything department staff may, plus the configuration, the refunds and the delivery log.
# The admin classes still refuse what nobody may do (e.g. deleting reason codes or editing synced orders).
SUPERVISOR_PERMISSIONS: dict[str, tuple[str, ...]] = {
    **DEPARTMENT_PERMISSIONS,
    "tickets.ticket": (VIEW, CHANGE, BUYER_CONTACT),
    "tickets.reasoncode": (VIEW, ADD, CHANGE),
    "tickets.refund": (VIEW,),
    "orders.shop": (VIEW, ADD, CHANGE),
    "api.apikey": (VIEW, ADD, CHANGE),
    "routing.department": ALL,
    "routing.staffmember": ALL,
    "routing.routingrule": ALL,
    "routing.deadlinepolicy": ALL,
    # Business-hours calendars (issue 15): a calendar, its weekly hours and its own holidays and extra workdays.
    "routing.businesscalendar": ALL,
    "routing.workinghours": ALL,
    "routing.calendarday": ALL,
    "notifications.notification": (VIEW, CHANGE),
    "notifications.template": ALL,
    "notifications.shopchannels": ALL,
    "notifications.departmentrobot": ALL,
    "connectors.shopconnection": (VIEW, ADD, CHANGE),
    "connectors.platformcase": (VIEW,),
    "connectors.writeback": (VIEW, CHANGE),  # change: resend
    "connectors.inboxmessage": (VIEW, CHANGE),  # change: process again
    "connectors.reconciliation": (VIEW,),
    # Money and risk (issue 14): the coupon pools, sending a transfer again; the shops' risk thresholds, the
    # fast-refund rules (enabled only after their backtest), the buyers' profiles. Payment accounts (the
    # providers' keys) stay with superusers.
    "payments.compensationpayout": (VIEW, ADD, CHANGE),
    "payments.couponcode": (VIEW, ADD, DELETE),
    "risk.riskpolicy": (VIEW, ADD, CHANGE),
    "risk.fastrefundrule": (VIEW, ADD, CHANGE),
    "risk.buyerprofile": (VIEW,),
    "risk.riskflag": (VIEW, CHANGE),
    # Canned replies and macros (issue 15, replies): supervisors write them; agents use them on the ticket page.
    "replies.cannedreply": ALL,
    "replies.cannedreplytext": ALL,
    "replies.macro": ALL,
    # 回访 (issue 15): the buyers' answers, and the follow-ups of low scores (change: mark done).
    "quality.survey": (VIEW,),
    "quality.followup": (VIEW, CHANGE),
    # Surge (issue 17): the queue watch and its alerts; moving staff into another queue for a while (change: end
    # one early). Reinforcements are never edited or deleted: they are the record.
    "surge.surgealert": (VIEW,),
    "routing.reinforcement": (VIEW, ADD, CHANGE),
    # Incidents (issue 17): supervisors declare, start, extend and close them (desk.admin.incidents); a draft may be
    # deleted, a started one not (the admin refuses).
    "incidents.incident": ALL,
    # Choosing the user of a new staff member (autocomplete); editing users stays with superusers.
    "auth.user": (VIEW,),
}

# Finance (not a department: it works no ticket queue): the refunds to pay by hand, recorded through the finance
# queue (tickets.pay_refund), and the statements reconciled against them. Supervisors do not get pay_refund:
# whoever approves a refund is not the one who confirms the money left.
PAY_REFUND = "pay_refund"
FINANCE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "tickets.refund": (VIEW, PAY_REFUND),
    "orders.order": (VIEW,),
    "orders.shop": (VIEW,),
}

DEPARTMENT_GROUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "operations": DEPARTMENT_PERMISSIONS,
    "warehouse": DEPARTMENT_PERMISSIONS,
    "logistics": DEPARTMENT_PERMISSIONS,
    "supervisors": SUPERVISOR_PERMISSIONS,
}
FINANCE_GROUP = "finance"
GROUPS: dict[str, dict[str, tuple[str, ...]]] = {**DEPARTMENT_GROUPS, FINANCE_GROUP: FINANCE_PERMISSIONS}


def groups_ensure(apps: Apps = global_apps) -> None:
    """Create the groups and give each exactly its permissions (idempotent; works in migrations).

    On a fresh database the permissions are only created after all migrations (``post_migrate``), so they
    are created here first for the apps concerned.
    """
    from django.contrib.auth.management import create_permissions

    for label in sorted({model.split(".")[0] for grants in GROUPS.values() for model in grants}):
        app_config = apps.get_app_config(label)
        # create_permissions skips an app without a models module, which migration states' app stubs lack.
        had_models = getattr(app_config, "models_module", None)
        app_config.models_module = had_models or True  # type: ignore[assignment]  # any truthy value will do
        try:
            create_permissions(app_config, apps=apps, verbosity=0)
        finally:
            app_config.models_module = had_models

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, grants in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for model, actions in grants.items():
            app_label, model_name = model.split(".")
            for action in actions:
                wanted.append(
                    Permission.objects.get(
                        content_type__app_label=app_label,
                        content_type__model=model_name,
                        codename=action if "_" in action else f"{action}_{model_name}",
                    )
                )
        group.permissions.set(wanted)


def department_groups_sync(*, user: User, codes: Iterable[str]) -> None:
    """Put ``user`` in the groups of the departments ``codes`` (of the four with a group) and out of the others.

    A department membership (``routing.StaffMember``) is what supervisors configure; this keeps the admin
    permissions that go with it in step. Departments without a group (backup pools) give no permissions.
    """
    from django.contrib.auth.models import Group

    wanted = set(codes) & set(DEPARTMENT_GROUPS)
    groups = {group.name: group for group in Group.objects.filter(name__in=DEPARTMENT_GROUPS)}
    user.groups.remove(*[group for name, group in groups.items() if name not in wanted])
    user.groups.add(*[group for name, group in groups.items() if name in wanted])
