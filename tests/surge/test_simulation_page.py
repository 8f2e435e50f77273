"""The surge planner in the admin (``/admin/dashboard/surge-plan/``) through the test client: supervisors only, the
form, the charts of a played plan and the staff needed, in English and Chinese."""

from __future__ import annotations

import pytest
from django.urls import reverse

from routing.models import Department, StaffMember
from tests.factories.tickets import user_create

URL = "/admin/dashboard/surge-plan/"

pytestmark = pytest.mark.django_db


def staff_in(department: str, username: str):
    user = user_create(username, is_staff=True)
    member = StaffMember.objects.create(user=user)
    member.departments.add(Department.objects.get(code=department))
    return user


def plan_query(**overrides) -> dict[str, str]:
    """A small day: 120 returns spread evenly, nothing else; operations has 1 person, the warehouse 2."""
    query = {
        "simulate": "1",
        "start": "2026-11-11",
        "days": "1",
        "arrivals": "even",
        "seed": "1",
        "breach_target": "0",
        "total_return": "240",
        "profile_return": "flat",
        "handling_return": "",
        "total_exchange": "0",
        "profile_exchange": "flat",
        "total_complaint": "0",
        "profile_complaint": "flat",
        "total_logistics": "0",
        "profile_logistics": "flat",
        "staff_operations": "1",
        "staff_warehouse": "2",
        "staff_logistics": "0",
        "staff_supervisors": "0",
    }
    query.update(overrides)
    return query


def test_url_and_the_dashboard_links_to_it(client) -> None:
    assert reverse("dashboard:surge-plan") == URL
    client.force_login(staff_in("supervisors", "boss"))
    response = client.get("/admin/dashboard/")
    assert f'href="{URL}"' in response.content.decode()


@pytest.mark.parametrize("department", ["operations", "warehouse"])
def test_staff_who_are_not_supervisors_get_403(client, department) -> None:
    client.force_login(staff_in(department, "agent"))
    assert client.get(URL).status_code == 403
    assert client.get(URL, plan_query()).status_code == 403


def test_logged_out_users_go_to_the_login(client) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_form_alone_shows_no_chart(client) -> None:
    client.force_login(staff_in("supervisors", "boss"))
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="surge-form"' in html and "staff_warehouse" in html
    assert "data-chart=" not in html and response.context["page"] is None


def test_a_played_plan_draws_backlog_breaches_and_staff_needed(client) -> None:
    """240 returns, 10 an hour: operations reviews them (4 min each, 15 an hour for one person) and hands them to
    the warehouse (6 min), then back to operations for the refund (2 min): 10 × (4 + 2) = 60 minutes an hour for
    one person in operations: it keeps up, the warehouse too; nothing breaches and nobody more is needed."""
    client.force_login(staff_in("supervisors", "boss"))
    response = client.get(URL, plan_query())
    assert response.status_code == 200, response.content[:300]
    page = response.context["page"]
    assert page.sim.arrivals == 240
    assert page.breaches_during == 0 and page.extra_staff_hours == 0
    html = response.content.decode()
    # The backlog is drawn (work is held while it is handled); no breach, nobody more: those charts are empty.
    assert 'data-chart="surge-backlog"' in html
    assert 'data-chart="surge-breaches"' not in html and 'data-chart="surge-extra"' not in html
    assert 'id="staff-needed"' in html


def test_too_few_people_show_breaches_and_the_people_needed(client) -> None:
    """Complaints must get a first answer within 2 hours (the complaint's ``open`` step): 60 an hour at 5 minutes
    each is 300 minutes an hour: one person in operations falls behind, five keep up."""
    client.force_login(staff_in("supervisors", "boss"))
    query = plan_query(total_return="0", total_complaint="1440", handling_complaint="5")
    response = client.get(URL, query)
    page = response.context["page"]
    assert page.breaches_during > 0
    needed = page.sim.needed["operations"]
    assert min(needed) >= 5 and page.needed_breaches == 0
    html = response.content.decode()
    assert 'class="kefu-kpi kefu-kpi--alert" id="kpi-breaches"' in html
    assert 'data-chart="surge-breaches"' in html and 'data-chart="surge-extra"' in html
    assert "kefu-more" in html


def test_a_wrong_staffing_line_is_shown_on_its_field(client) -> None:
    client.force_login(staff_in("supervisors", "boss"))
    response = client.get(URL, plan_query(staff_operations="lots"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.context["page"] is None
    assert "Give whole numbers of people" in response.content.decode()


def test_the_page_speaks_chinese(client) -> None:
    client.force_login(staff_in("supervisors", "boss"))
    response = client.get(URL, plan_query(), HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = response.content.decode()
    assert "高峰排班模拟" in html and "各部门积压" in html
