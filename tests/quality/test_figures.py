"""The service figures per agent and department, on hand-built tickets with known times (tests/quality/desk.py),
and the page at /admin/dashboard/quality/: who may open it, its ranges, and its query count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.figures import quality_figures
from dashboard.periods import period_from
from tests.quality.desk import figures_desk, staff

pytestmark = pytest.mark.django_db

URL = "/admin/dashboard/quality/"


def by_label(rows):
    return {f.label: f for f in rows}


def test_each_figure_per_agent_department_and_in_total() -> None:
    desk = figures_desk()
    period = period_from({"preset": "7"}, now=desk.now)
    figures = quality_figures(since=period.since, until=period.until, nobody="(none)", no_department="(none)")
    agents = by_label(figures.by_agent)
    assert set(agents) == {"li", "wang", "(none)"}
    li, wang, nobody = agents["li"], agents["wang"], agents["(none)"]
    assert li.handled == 2
    assert li.first_response_seconds == pytest.approx(75 * 60)
    assert li.resolution_seconds == pytest.approx(15 * 3600)
    assert (li.breach_percent, li.reopen_percent) == (50.0, 50.0)
    assert (li.score_avg, li.score_count) == (3.0, 2)
    assert (wang.handled, wang.first_response_seconds, wang.resolution_seconds) == (1, 4 * 3600, 30 * 3600)
    assert (wang.breach_percent, wang.reopen_percent, wang.score_avg, wang.score_count) == (0.0, 0.0, None, 0)
    assert (nobody.handled, nobody.first_response_seconds, nobody.resolution_seconds) == (1, None, 5 * 3600)

    departments = {f.key: f for f in figures.by_department}
    assert {k: f.handled for k, f in departments.items()} == {"operations": 2, "warehouse": 1, "logistics": 1}
    assert departments["operations"].label == "运营部" or departments["operations"].label  # the admin's name

    total = figures.total
    assert total.handled == 4
    assert (total.first_response_seconds, total.responded) == (pytest.approx(130 * 60), 3)
    assert total.resolution_seconds == pytest.approx(16.25 * 3600)
    assert (total.breach_percent, total.reopen_percent) == (25.0, 25.0)
    assert (total.score_avg, total.score_count) == (3.0, 2)


def test_the_30_day_range_also_counts_the_older_ticket() -> None:
    desk = figures_desk()
    period = period_from({"preset": "30"}, now=desk.now)
    figures = quality_figures(since=period.since, until=period.until, nobody="-", no_department="-")
    assert figures.total.handled == 5


def test_ranges_presets_dates_and_refusals() -> None:
    now = timezone.now()
    today = timezone.localdate(now)
    assert period_from({}, now=now).first == today - timedelta(days=6)
    assert period_from({"preset": "today"}, now=now).first == today
    custom = period_from({"from": "2026-11-01", "to": "2026-11-03"}, now=now)
    assert (custom.first.isoformat(), custom.last.isoformat(), custom.preset) == ("2026-11-01", "2026-11-03", "")
    assert custom.until - custom.since == timedelta(days=3)
    assert period_from({"from": "2026-11-05", "to": "2026-11-01"}, now=now).error
    assert period_from({"from": "yesterday"}, now=now).error


@pytest.fixture
def boss_client(client):
    client.force_login(staff("boss", "supervisors"))
    return client


def test_department_staff_get_403(client) -> None:
    client.force_login(staff("ops1", "operations"))
    assert client.get(URL).status_code == 403
    assert client.get(URL + "export/tickets/csv/").status_code == 403


def test_the_page_shows_the_figures_in_chinese(boss_client) -> None:
    figures_desk()
    page = boss_client.get(URL, headers={"accept-language": "zh-hans"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "服务指标" in html and "首次响应" in html
    totals = page.context["page"].total
    assert (totals.handled, totals.breach, totals.reopen, totals.satisfaction) == (4, "25.0 %", "25.0 %", "3.00 (2)")
    assert 'data-chart="satisfaction-by-agent"' in html
    assert 'id="export-tickets-xlsx"' in html


def test_a_bad_range_is_explained_and_the_default_shown(boss_client) -> None:
    page = boss_client.get(URL + "?from=2026-13-01&to=x", headers={"accept-language": "zh-hans"})
    assert page.status_code == 200
    assert "YYYY-MM-DD" in page.content.decode()
    assert page.context["page"].period.preset == "7"


def page_queries(client) -> int:
    client.get(URL)  # warm the session and the config caches
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return len(queries)


def test_the_page_runs_the_same_few_queries_whatever_the_number_of_tickets(
    boss_client, django_assert_max_num_queries
) -> None:
    # 6 for the session, the user and their access (the permissions: the admin's app list), 5 for the figures,
    # and on PostgreSQL 2 to switch JIT off and on around them (dashboard.figures.jit_off).
    figures_desk()
    with django_assert_max_num_queries(13 if connection.vendor == "postgresql" else 11):
        boss_client.get(URL)
    few = page_queries(boss_client)
    for _ in range(3):
        figures_desk_more()
    assert page_queries(boss_client) == few


def figures_desk_more() -> None:
    from tests.quality.desk import ended, event

    for hours in (1, 2, 3, 4, 5, 6):
        ticket = ended("return", "refunded", created=timezone.now() - timedelta(days=1), hours=hours)
        event(ticket, ticket.created_at + timedelta(minutes=5), transition="approve", step_department="operations")
