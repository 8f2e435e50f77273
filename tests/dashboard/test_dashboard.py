"""The supervisors' dashboard through the Django test client: who may open it, its figures for a known desk,
and a query count that does not grow with the number of tickets."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboard.panels import Dashboard
from routing.models import Department, StaffMember
from tests.dashboard.support import desk_build, tickets_add
from tests.factories.tickets import user_create
from tickets.models import ReasonCode

URL = "/admin/dashboard/"

pytestmark = pytest.mark.django_db


def staff_in(department: str, username: str | None = None):
    user = user_create(username, is_staff=True)
    member = StaffMember.objects.create(user=user)
    member.departments.add(Department.objects.get(code=department))
    return user


@pytest.fixture
def supervisor_client(client):
    client.force_login(staff_in("supervisors", "boss"))
    return client


def dashboard_of(response) -> Dashboard:
    assert response.status_code == 200, response.content[:500]
    return response.context["dashboard"]


def rows(chart) -> dict[str, tuple[float, list[tuple[str, float]]]]:
    """A bar chart as {label: (total, [(series, value), …])} (drawn segments only: zeros are not drawn)."""
    return {r.label: (r.total, [(s.series, s.value) for s in r.segments]) for r in chart.rows}


# -- who may open it ----------------------------------------------------------------------------------------


def test_url_is_under_the_admin() -> None:
    assert reverse("dashboard:index") == URL


@pytest.mark.parametrize("department", ["warehouse", "operations", "logistics"])
def test_department_staff_get_403(client, department) -> None:
    client.force_login(staff_in(department))
    assert client.get(URL).status_code == 403


def test_staff_in_a_department_group_get_403(client) -> None:
    user = user_create(is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="warehouse")[0])
    client.force_login(user)
    assert client.get(URL).status_code == 403


def test_staff_without_a_department_get_403(client) -> None:
    client.force_login(user_create(is_staff=True))
    assert client.get(URL).status_code == 403


def test_logged_out_users_go_to_the_admin_login(client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_non_staff_users_go_to_the_admin_login(client) -> None:
    user = user_create()
    StaffMember.objects.create(user=user).departments.add(Department.objects.get(code="supervisors"))
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 302


@pytest.mark.parametrize("how", ["member", "group", "superuser"])
def test_supervisors_and_superusers_open_it(client, django_user_model, how) -> None:
    if how == "member":
        user = staff_in("supervisors")
    elif how == "group":
        user = user_create(is_staff=True)
        user.groups.add(Group.objects.get_or_create(name="supervisors")[0])
    else:
        user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200
    assert b'class="kefu-dashboard"' in response.content and b'id="kpi-overdue"' in response.content


def test_admin_index_links_the_dashboard_for_supervisors_only(client) -> None:
    client.force_login(staff_in("supervisors"))
    assert f'href="{URL}"'.encode() in client.get(reverse("admin:index")).content
    client.force_login(staff_in("warehouse"))
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert f'href="{URL}"'.encode() not in index.content


# -- the figures ---------------------------------------------------------------------------------------------


def test_an_empty_desk_shows_zeros_and_no_bars(supervisor_client) -> None:
    response = supervisor_client.get(URL)
    d = dashboard_of(response)
    assert (d.open_total, d.overdue_total, d.met_percent, d.steps_ended) == (0, 0, None, 0)
    assert d.open_by_state.empty and d.sla_by_department.empty and d.reasons.empty and d.volume.empty
    assert len(d.volume.columns) == 30
    assert b"<rect" not in response.content


def test_open_tickets_by_state_and_department_with_overdue(supervisor_client) -> None:
    desk_build()
    d = dashboard_of(supervisor_client.get(URL))

    assert d.open_total == 6
    assert d.overdue_total == 2
    by_state = {label: total for label, (total, _) in rows(d.open_by_state).items()}
    assert sorted(by_state.values(), reverse=True) == [2, 1, 1, 1, 1]
    received = next(r for r in d.open_by_state.rows if r.href.endswith("kind__exact=return&state=received"))
    assert [(s.series, s.value) for s in received.segments] == [("overdue", 1), ("ontime", 1)]

    names = dict(Department.objects.values_list("code", "name"))
    by_department = rows(d.open_by_department)
    assert by_department[names["operations"]] == (3, [("overdue", 1), ("ontime", 2)])
    assert by_department[names["warehouse"]] == (2, [("overdue", 1), ("ontime", 1)])
    assert by_department[names["logistics"]] == (1, [("ontime", 1)])
    assert [r.label for r in d.open_by_department.rows][0] == names["operations"]  # most open first

    matrix = d.open_matrix
    assert [label for _, label in matrix.columns] == [names["logistics"], names["operations"], names["warehouse"]]
    assert matrix.totals == [1, 3, 2] and matrix.total == 6


def test_deadlines_met_and_step_times_over_7_days(supervisor_client) -> None:
    desk_build()
    d = dashboard_of(supervisor_client.get(URL, headers={"Accept-Language": "en"}))

    assert d.days == 7
    names = dict(Department.objects.values_list("code", "name"))
    sla = {r.label: r for r in d.sla_by_department.rows}
    # Lowest first; the buyer's step is not a department's SLA; supervisors' step was 40 days ago.
    assert list(sla) == [names["warehouse"], names["operations"]]
    assert [(s.series, s.value) for s in sla[names["warehouse"]].segments] == [("fair", 75.0)]
    assert [(s.series, s.value) for s in sla[names["operations"]].segments] == [("good", 100.0)]
    assert "3" in sla[names["warehouse"]].value_text and "4" in sla[names["warehouse"]].value_text
    assert d.met_percent == 80.0  # 4 of the 5 department steps with a deadline
    assert d.steps_ended == 7

    times = {r.label: r.total for r in d.step_times.rows}
    assert list(times.values()) == [8 * 86400, 86400, 37200, 1800, 600]  # slowest first
    assert d.step_times.rows[2].value_text == "10 h 20 min"
    assert d.step_times.rows[0].value_text == "8 d"


def test_deadlines_met_over_30_days(supervisor_client) -> None:
    desk_build()
    d = dashboard_of(supervisor_client.get(URL, {"days": "30"}, headers={"Accept-Language": "en"}))

    assert d.days == 30
    names = dict(Department.objects.values_list("code", "name"))
    sla = {r.label: r.segments[0].value for r in d.sla_by_department.rows}
    assert sla == {names["operations"]: 50.0, names["warehouse"]: 75.0}
    assert d.met_percent == round(100 * 4 / 6, 1)
    assert d.steps_ended == 8
    requested = [r for r in d.step_times.rows if r.total == 90900]
    assert len(requested) == 1 and requested[0].value_text == "1 d 1 h"


@pytest.mark.parametrize("days", ["", "5", "abc", "365"])
def test_an_unknown_period_means_7_days(supervisor_client, days) -> None:
    assert dashboard_of(supervisor_client.get(URL, {"days": days})).days == 7


def test_volume_per_day_by_kind_over_30_days(supervisor_client) -> None:
    desk = desk_build()
    d = dashboard_of(supervisor_client.get(URL))

    columns = d.volume.columns
    assert len(columns) == 30 == d.volume_days
    today = timezone.localtime(desk.now).date()
    assert columns[-1].label == today.strftime("%m-%d")
    legend = [series for series, _ in d.volume.legend]
    assert legend == ["return", "exchange", "complaint", "logistics"]

    def on(days_ago: int) -> dict[str, int]:
        return dict(zip(legend, columns[-1 - days_ago].values, strict=True))

    assert on(0) == {"return": 3, "exchange": 0, "complaint": 0, "logistics": 0}
    assert on(1) == {"return": 0, "exchange": 0, "complaint": 0, "logistics": 1}
    assert on(3) == {"return": 1, "exchange": 0, "complaint": 0, "logistics": 0}
    assert on(10) == {"return": 0, "exchange": 1, "complaint": 0, "logistics": 0}
    assert sum(c.total for c in columns) == 6  # the complaint opened 40 days ago is outside


def test_top_reasons_by_sku(supervisor_client) -> None:
    desk_build()
    labels = {r.code: r.label_zh for r in ReasonCode.objects.all()}

    week = dashboard_of(supervisor_client.get(URL)).reason_rows
    assert [(r.sku, r.reason_code, r.tickets, r.returns, r.exchanges, r.quantity) for r in week] == [
        ("MUG-BLUE", "quality_problem", 2, 2, 0, 4),
        ("MUG-BLUE", "seven_days_no_reason", 1, 1, 0, 2),
        ("TEE-M", "quality_problem", 1, 1, 0, 2),
    ]
    assert week[0].reason_label == labels["quality_problem"]
    assert week[0].name == "陶瓷马克杯 湖蓝"

    month = dashboard_of(supervisor_client.get(URL, {"days": "30"})).reason_rows
    assert ("TEE-M", "wrong_size_colour", 1, 0, 1) in [
        (r.sku, r.reason_code, r.tickets, r.returns, r.exchanges) for r in month
    ]
    assert len(month) == 4


def test_reason_labels_follow_the_language(supervisor_client) -> None:
    desk_build()
    response = supervisor_client.get(URL, headers={"Accept-Language": "en"})
    assert dashboard_of(response).reason_rows[0].reason_label == "Quality problem"


def test_the_page_draws_every_chart_as_svg(supervisor_client) -> None:
    desk_build()
    html = supervisor_client.get(URL).content.decode()

    for chart in ("open-by-state", "open-by-department", "sla-by-department", "step-times", "volume", "reasons"):
        svg = re.search(rf'<svg[^>]*data-chart="{chart}".*?</svg>', html, re.S)
        assert svg, chart
        widths = [float(w) for w in re.findall(r'<rect[^>]*width="([\d.]+)"', svg.group(0))]
        assert widths and all(w > 0 for w in widths), chart
    assert 'href="/admin/tickets/ticket/?overdue=yes"' in html
    assert "<script" not in html.split('id="content-main"')[1]  # drawn on the server, nothing fetched


# -- bounded queries -----------------------------------------------------------------------------------------


def dashboard_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        for days in ("7", "30"):
            assert client.get(URL, {"days": days}).status_code == 200
    return len(queries) // 2


def test_query_count_is_the_same_for_10_and_100_tickets(supervisor_client) -> None:
    tickets_add(10, start=0)
    with_10 = dashboard_queries(supervisor_client)
    tickets_add(90, start=10)
    with_100 = dashboard_queries(supervisor_client)

    assert with_10 == with_100
    # Session and user, the supervisor's departments and groups (2), the admin's sidebar permissions, and
    # the page's own six: departments, open tickets, SLA figures, volume, top reasons and the reasons' labels.
    assert with_100 <= 12
