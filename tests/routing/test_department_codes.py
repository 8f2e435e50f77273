"""A department's code never names an actor: such codes are refused (model, admin, migration), and staff of a
department stored with one before still act only as department staff, never as the buyer or the system."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import transaction

from kefu.core.vocabulary import RESERVED_DEPARTMENT_CODES
from routing.models import Department, StaffMember
from tests.factories.tickets import ticket_build, ticket_reload, user_create
from tickets.actors import DEPARTMENT_ROLES, Actor, ActorKind, Role
from tickets.errors import NotPermitted
from tickets.services import ticket_act

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module("routing.migrations.0005_no_department_named_like_an_actor")


def test_every_actor_that_is_not_a_department_is_reserved():
    not_departments = {role.value for role in Role if role not in DEPARTMENT_ROLES} | {k.value for k in ActorKind}
    assert not_departments <= RESERVED_DEPARTMENT_CODES
    assert not RESERVED_DEPARTMENT_CODES & {role.value for role in DEPARTMENT_ROLES}
    assert MIGRATION.RESERVED_DEPARTMENT_CODES == RESERVED_DEPARTMENT_CODES  # the migration's frozen copy


@pytest.mark.parametrize("code", ["buyer", "system", "integration", "staff", "platform", "supervisor", "Buyer"])
def test_a_code_naming_an_actor_is_refused(code):
    with pytest.raises(ValidationError) as refused:
        Department(code=code, name="退货组").full_clean()

    assert "not a department" in refused.value.message_dict["code"][0]


def test_a_department_stored_as_buyer_gives_its_members_no_buyer_role():
    """Data from before the refusal: a member of a department coded "buyer" cannot withdraw the buyer's return."""
    with transaction.atomic():
        ticket = ticket_build("return", "requested")
    legacy = Department.objects.create(code="buyer", name="买家服务组")  # no full_clean: as stored before
    user = user_create("legacy-member", is_staff=True)
    StaffMember.objects.create(user=user).departments.add(legacy)
    actor = Actor.staff(user)
    assert actor.departments == frozenset({"buyer"})

    with pytest.raises(NotPermitted):
        ticket_act(ticket=ticket, actor=actor, action="cancel", reason="冒充买家")

    assert ticket_reload(ticket).state == "requested"


def test_the_migration_refuses_to_run_while_such_a_department_exists():
    Department.objects.create(code="platform", name="平台组")

    with pytest.raises(RuntimeError, match="platform"):
        MIGRATION.refuse_reserved_codes(apps, None)


def test_the_migration_passes_on_the_default_departments():
    MIGRATION.refuse_reserved_codes(apps, None)
