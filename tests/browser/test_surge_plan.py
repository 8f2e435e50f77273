"""The surge planner in a real browser (chromium, zh-hans): a supervisor opens it from the dashboard, plans a
Double 11 day with too few people at night, and reads the backlog, the breaches and the people needed.

Screenshot (KEFU_UPDATE_SCREENSHOTS=1): docs/screenshots/surge-plan.png (docs/surge-planning.md).
"""

from __future__ import annotations

import pytest

from routing.models import Department, StaffMember
from tests.browser.conftest import login, screenshot

PASSWORD = "pw-browser-12345"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_supervisor_plans_double_11_and_sees_where_people_are_missing(page, live_server, django_user_model):
    user = django_user_model.objects.create_user("sup1", password=PASSWORD, is_staff=True)
    StaffMember.objects.create(user=user).departments.add(Department.objects.get(code="supervisors"))

    login(page, live_server, "sup1", PASSWORD)
    page.goto(f"{live_server.url}/admin/dashboard/")
    page.click("#surge-plan-link")
    assert page.locator("h1").inner_text() == "高峰排班模拟"
    assert page.locator("svg[data-chart]").count() == 0

    page.fill("#id_start", "2026-11-11")
    page.select_option("#id_arrivals", "even")
    page.fill("#id_total_return", "3000")
    page.fill("#id_total_exchange", "600")
    page.fill("#id_total_complaint", "800")
    page.fill("#id_total_logistics", "600")
    for kind in ("return", "exchange", "complaint", "logistics"):
        assert page.locator(f"#id_profile_{kind}").input_value() == "double11"
    page.fill("#id_staff_operations", "2×8, 12×16")  # two people at night for the midnight peak
    page.fill("#id_staff_warehouse", "0×8, 6×11, 0×5")
    page.fill("#id_staff_logistics", "3")
    page.fill("#id_staff_supervisors", "1")
    page.click("#simulate")
    page.wait_for_selector('svg[data-chart="surge-backlog"]')

    assert page.locator("#kpi-tickets .kefu-kpi-value").inner_text() == "5000"
    breaches = int(page.locator("#kpi-breaches .kefu-kpi-value").inner_text())
    assert breaches > 0  # complaints' 2-hour first answer at the midnight peak, with two people
    for chart in ("surge-backlog", "surge-breaches", "surge-extra"):
        svg = page.locator(f'svg[data-chart="{chart}"]')
        assert svg.is_visible(), chart
        assert svg.locator("rect.kefu-bar").count() > 0, chart
    # Night hours of operations need more people than the two planned: shown in red with the plan in brackets.
    first_hour = page.locator("#staff-needed tbody tr").first
    assert first_hour.locator(".kefu-more").count() >= 1
    assert "(2)" in first_hour.inner_text()
    assert page.locator("#id_staff_operations").input_value() == "2×8, 12×16"  # the form keeps the plan
    screenshot(page, "surge-plan")
