"""The supervisors' dashboard in a real browser (Debian's chromium through Playwright), and the screenshot of
it in docs/screenshots/dashboard.png (docs/admin.md).

``serialized_rollback``: the live server needs committed rows (transactional tests), and the departments and
reason codes the data migrations made must be there again after an earlier transactional test's flush.
"""

from __future__ import annotations

import pytest

from routing.models import Department, StaffMember
from tests.browser.conftest import login, screenshot
from tests.dashboard.support import desk_build, tickets_add

CHARTS = ("open-by-state", "open-by-department", "sla-by-department", "step-times", "volume", "reasons")


PASSWORD = "pw-browser-12345"


def supervisor(django_user_model, username: str = "sup1"):
    user = django_user_model.objects.create_user(username, password=PASSWORD, is_staff=True)
    StaffMember.objects.create(user=user).departments.add(Department.objects.get(code="supervisors"))
    return user


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_admin_login_page_renders_in_chinese(page, live_server, tmp_path) -> None:
    page.goto(f"{live_server.url}/admin/login/")

    assert page.locator("#id_username").is_visible()
    assert "用户名" in page.locator("label[for=id_username]").inner_text()
    path = tmp_path / "login.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 1000


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_supervisor_opens_the_dashboard_from_the_admin_index(page, live_server, django_user_model) -> None:
    supervisor(django_user_model)
    desk_build()
    tickets_add(60, start=0)

    login(page, live_server, "sup1", PASSWORD)
    page.click("#dashboard-link a.viewlink")
    page.wait_for_url("**/admin/dashboard/")

    for chart in CHARTS:
        svg = page.locator(f'svg[data-chart="{chart}"]')
        assert svg.is_visible(), chart
        box = svg.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 40, (chart, box)
        bars = svg.locator("rect.kefu-bar")
        assert bars.count() > 0, chart
        # Drawn: the bars have a size on screen, not only in the markup.
        widest = max(b["width"] for b in (bars.nth(i).bounding_box() for i in range(bars.count())) if b)
        assert widest > 5, chart

    # The figures of the known desk are those drawn (the desk's 6 open tickets plus tickets_add's open ones).
    assert int(page.locator("#kpi-open .kefu-kpi-value").inner_text()) > 6
    assert page.locator('svg[data-chart="volume"] g.kefu-column').count() == 30
    # Chinese labels (department names, item and reason labels) render with a CJK font, not as boxes.
    assert "仓库" in (page.locator('svg[data-chart="open-by-department"]').text_content() or "")
    cjk_width = page.evaluate(
        """() => {
            const c = document.createElement('canvas').getContext('2d');
            c.font = '16px sans-serif';
            return [c.measureText('仓库').width, c.measureText('\\u25a1\\u25a1').width];
        }"""
    )
    assert cjk_width[0] > 20, cjk_width

    screenshot(page, "dashboard")

    page.click("a.kefu-period[href='?days=30']")
    page.wait_for_url("**/admin/dashboard/?days=30")
    assert page.locator(".kefu-period--current").inner_text().strip().endswith("30 days") or "30" in (
        page.locator(".kefu-period--current").inner_text()
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_department_staff_are_refused(page, live_server, django_user_model) -> None:
    user = django_user_model.objects.create_user("wh1", password=PASSWORD, is_staff=True)
    StaffMember.objects.create(user=user).departments.add(Department.objects.get(code="warehouse"))

    login(page, live_server, "wh1", PASSWORD)
    assert page.locator("#dashboard-link").count() == 0
    response = page.goto(f"{live_server.url}/admin/dashboard/")
    assert response is not None and response.status == 403
