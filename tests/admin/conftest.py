"""Helpers of the admin tests: staff logged into the admin as their department's group would be, tickets in
a state and a department, and reading the admin's messages.

Staff users are set up as the desk sets them up: ``is_staff``, in the Django group named after their
department (permissions from the accounts migration) and a ``routing.StaffMember`` of that department (off
duty, so routing does not hand them tickets by itself).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction
from django.test import Client
from django.urls import reverse

from routing.models import Department, StaffMember
from tests.factories.tickets import order_with_line, ticket_build, user_create
from tickets.models import Ticket

LIST = "admin:tickets_ticket_changelist"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path) -> Iterator[None]:
    settings.MEDIA_ROOT = tmp_path / "media"
    yield


def desk_user(*departments: str, username: str | None = None, superuser: bool = False) -> AbstractBaseUser:
    user = user_create(username, is_staff=True, is_superuser=superuser)
    user.groups.set(Group.objects.filter(name__in=departments))
    member = StaffMember.objects.create(user=user, on_duty=False)
    member.departments.set(Department.objects.filter(code__in=departments))
    return user


def logged_in(user: AbstractBaseUser) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def supervisor() -> AbstractBaseUser:
    return desk_user("supervisors", username="sup-dave")


@pytest.fixture
def sup_client(supervisor) -> Client:
    return logged_in(supervisor)


@pytest.fixture
def ops_user() -> AbstractBaseUser:
    return desk_user("operations", username="ops-alice")


@pytest.fixture
def ops_client(ops_user) -> Client:
    return logged_in(ops_user)


@pytest.fixture
def wh_user() -> AbstractBaseUser:
    return desk_user("warehouse", username="wh-bob")


@pytest.fixture
def wh_client(wh_user) -> Client:
    return logged_in(wh_user)


def ticket(kind: str, state: str | None = None, **fields: Any) -> Ticket:
    """A ticket of ``kind`` stored in ``state`` with a fresh order (tests.factories.tickets.ticket_build)."""
    with transaction.atomic():
        order = fields.pop("order", None) or order_with_line(**fields.pop("order_fields", {}))
        return ticket_build(kind, state, order=order, **fields)


def page_url(t: Ticket) -> str:
    return reverse("admin:tickets_ticket_change", args=[t.pk])


def action_url(t: Ticket, name: str) -> str:
    return reverse("admin:tickets_ticket_transition", args=[t.pk, name])


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def listed(response) -> list[str]:
    """The ticket numbers on a list page, in order."""
    return [t.number for t in response.context["cl"].result_list]
