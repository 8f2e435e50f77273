"""A supervisor watches the queues in a real browser (zh-hans): operations is swamped (complaints arriving faster
than they are acknowledged), the watch page projects the breaches and lists the tickets at risk; the supervisor
moves a warehouse member into operations from the page, sees the reinforcement on the page, and ends it.
docs/screenshots/surge-watch.png is the watch page with the reinforcement (docs/surge.md).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.utils import timezone

from routing.models import Reinforcement
from tests.browser.conftest import login, screenshot
from tests.factories.desk import staff_member
from tests.surge.conftest import acknowledge, arrivals

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "pw-browser-12345"


def test_a_supervisor_sees_the_breaches_coming_and_moves_reinforcement(page, live_server, django_user_model) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        opened = arrivals(clock, count=16, over=timedelta(hours=2))
        acknowledge(opened[:4])
    staff_member("warehouse", username="wang")
    user = django_user_model.objects.create_user("sup", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="supervisors"))

    login(page, live_server, "sup", PASSWORD)
    page.goto(f"{live_server.url}/admin/surge/surgealert/")
    page.click("#surge-watch-link")
    row = page.locator('tr.surge-department[data-department="operations"]')
    assert "surge-breaching" in (row.get_attribute("class") or "")
    assert int(row.locator(".surge-backlog").inner_text()) == 16
    assert int(row.locator(".surge-breaches").inner_text().split()[0]) >= 5
    at_risk = page.locator('tr.surge-at-risk[data-department="operations"] a.kefu-ticket-link')
    assert at_risk.count() >= 5
    assert at_risk.first.inner_text() in {t.number for t in opened[4:]}

    with page.expect_navigation():
        row.locator("a.surge-add").click()
    page.select_option("#id_user", label="wang")
    until = timezone.localtime() + timedelta(hours=3)
    page.fill("#id_ends_at_0", f"{until:%Y-%m-%d}")
    page.fill("#id_ends_at_1", f"{until:%H:%M:%S}")
    page.fill("#id_cap", "3")
    page.fill("#id_reason", "直播后投诉激增")
    with page.expect_navigation():
        page.click("input[name=_save]")
    assert page.locator(".messagelist .success").count() == 1
    reinforcement = Reinforcement.objects.get()
    assert (reinforcement.user.username, reinforcement.department.code) == ("wang", "operations")
    assert reinforcement.created_by == user

    page.goto(f"{live_server.url}/admin/surge/surgealert/watch/")
    row = page.locator('tr.surge-department[data-department="operations"]')
    assert "wang 至" in row.locator(".surge-reinforcements").inner_text()
    screenshot(page, "surge-watch")

    with page.expect_navigation():
        row.locator(".surge-end button").click()
    assert "不再处理" in page.locator(".messagelist").inner_text()
    reinforcement.refresh_from_db()
    assert reinforcement.ended_by == user
