"""Surge in the admin (desk.admin.surge): supervisors watch the queues and move reinforcements; other staff cannot."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from routing.models import Department, Reinforcement
from tests.admin.conftest import desk_user, logged_in
from tests.factories.desk import staff_member
from tests.surge.conftest import acknowledge, arrivals

pytestmark = pytest.mark.django_db

WATCH = "admin:surge-watch"
ADD = "admin:routing_reinforcement_add"


def add_form(user, department: str, **fields):
    now = timezone.localtime()
    return {
        "user": user.pk,
        "department": Department.objects.get(code=department).pk,
        "starts_at_0": f"{now:%Y-%m-%d}",
        "starts_at_1": f"{now:%H:%M:%S}",
        "ends_at_0": f"{now + timedelta(hours=3):%Y-%m-%d}",
        "ends_at_1": f"{now + timedelta(hours=3):%H:%M:%S}",
        "cap": 3,
        "reason": "Double 11 wave",
        **fields,
    }


def test_the_watch_page_shows_each_queue_with_its_projection_and_tickets_at_risk(clock, surge_settings):
    opened = arrivals(clock, count=16, over=timedelta(hours=2))
    acknowledge(opened[:4])
    client = logged_in(desk_user("supervisors", username="sup"))

    page = client.get(reverse(WATCH))

    assert page.status_code == 200
    html = page.content.decode()
    operations = next(row for row in page.context["rows"] if row["watch"].code == "operations")
    assert operations["watch"].backlog == 16
    assert operations["watch"].breaches >= 5
    first_at_risk = operations["at_risk"][0]
    assert f'href="{reverse("admin:tickets_ticket_change", args=[first_at_risk[0].id])}"' in html
    assert first_at_risk[0].number in html
    assert "?department=operations" in html  # the department's queue
    assert "10.0" in html and "2.0" in html  # arrivals and handled per hour


def test_a_supervisor_adds_a_reinforcement_from_the_admin_and_ends_it_from_the_watch_page(clock):
    sup = desk_user("supervisors", username="sup")
    client = logged_in(sup)
    wang = staff_member("warehouse", username="wang")

    response = client.post(reverse(ADD), add_form(wang, "operations"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    reinforcement = Reinforcement.objects.get()
    assert (reinforcement.user, reinforcement.department.code, reinforcement.cap) == (wang, "operations", 3)
    assert reinforcement.created_by == sup and reinforcement.reason == "Double 11 wave"
    watch = client.get(reverse(WATCH)).content.decode()
    assert "wang until" in watch

    client.post(reverse("admin:routing_reinforcement_end", args=[reinforcement.pk]))

    reinforcement.refresh_from_db()
    assert reinforcement.ended_at == timezone.now() and reinforcement.ended_by == sup


def test_the_add_form_shows_the_services_refusal(clock):
    client = logged_in(desk_user("supervisors", username="sup"))
    wang = staff_member("warehouse", username="wang")

    response = client.post(reverse(ADD), add_form(wang, "supervisors"))

    assert response.status_code == 200
    assert "Reinforcement is for the departments" in response.content.decode()
    assert not Reinforcement.objects.exists()


def test_other_staff_neither_watch_nor_move_people(clock):
    client = logged_in(desk_user("operations", username="ops"))
    wang = staff_member("warehouse", username="wang")

    assert client.get(reverse(WATCH)).status_code == 403
    assert client.get(reverse(ADD)).status_code == 403
    assert client.post(reverse(ADD), add_form(wang, "operations")).status_code == 403
    assert not Reinforcement.objects.exists()


def test_the_add_form_opens_from_an_alert_with_its_department_and_reason(clock):
    client = logged_in(desk_user("supervisors", username="sup"))
    operations = Department.objects.get(code="operations")

    page = client.get(reverse(ADD), {"department": operations.pk, "reason": "Surge alert of 03-02 09:00"})

    assert page.status_code == 200
    form = page.context["adminform"].form
    assert str(form["department"].value()) == str(operations.pk)
    assert form["reason"].value() == "Surge alert of 03-02 09:00"
    assert 'value="2026-03-02"' in page.content.decode()  # starts now by default (the clock's day)


def test_a_supervisor_may_reassign_an_operations_ticket_to_the_reinforcement(clock):
    from surge.services.reinforcements import reinforcement_add
    from tests.factories.desk import open_complaint, staff

    sup = desk_user("supervisors", username="sup")
    wang = staff_member("warehouse", username="wang", on_duty=False)
    complaint = open_complaint()
    page = logged_in(sup).get(reverse("admin:tickets_ticket_change", args=[complaint.pk]))
    assert wang not in page.context["reassign_form"].fields["assignee"].queryset

    reinforcement_add(
        actor=staff(sup),
        user=wang,
        department=Department.objects.get(code="operations"),
        ends_at=timezone.now() + timedelta(hours=1),
        cap=1,
        reason="wave",
    )
    page = logged_in(sup).get(reverse("admin:tickets_ticket_change", args=[complaint.pk]))

    assert wang in page.context["reassign_form"].fields["assignee"].queryset
