"""回访 and the service figures in a real browser (chromium, zh-hans, 1366×768): the buyer answers the survey
page from the link of their SMS, and a supervisor opens the figures page and downloads the day's figures.

Screenshots (KEFU_UPDATE_SCREENSHOTS=1): docs/screenshots/desk-survey.png, desk-figures.png (docs/desk.md).
"""

from __future__ import annotations

import re

import pytest
from openpyxl import load_workbook

from dashboard.periods import period_from
from notifications.models import Event, Notification
from quality.models import FollowUp, Survey
from tests.browser.conftest import login, screenshot
from tests.quality.desk import figures_desk, staff
from tests.quality.support import complaint_resolved, sms_shop
from tickets.models import Ticket

PASSWORD = "pw-browser-12345"
DESK_VIEWPORT = {"width": 1366, "height": 768}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_buyer_answers_the_survey_from_the_link_in_their_sms(page, live_server, settings) -> None:
    settings.KEFU_PUBLIC_BASE_URL = live_server.url
    ticket = complaint_resolved(sms_shop(name="云杉家居旗舰店"))
    body = Notification.objects.get(ticket=ticket, event=Event.SATISFACTION_REQUEST).body
    link = re.search(r"http://\S+/survey/[^/\s]+/", body)
    assert link, body

    page.set_viewport_size(DESK_VIEWPORT)
    page.goto(link.group(0))
    assert page.locator("h1").inner_text() == "请为我们的服务打分"
    assert ticket.number in page.locator(".meta").first.inner_text()
    assert page.locator("#header, #nav-sidebar").count() == 0  # no admin chrome
    page.click("label[for=score-2]")
    page.fill("#survey-comment", "退款太慢了，等了三天")
    assert page.locator("#score-2").is_checked()
    screenshot(page, "desk-survey")

    page.click("#survey-submit")
    page.wait_for_selector("#survey-thanks")
    assert "感谢您的评价" in page.locator("#survey-thanks h1").inner_text()
    assert "2 分" in page.locator("#survey-recorded").inner_text()
    survey = Survey.objects.get(ticket=ticket)
    assert (survey.score, survey.comment) == (2, "退款太慢了，等了三天")
    assert FollowUp.objects.filter(ticket=ticket, status="open").count() == 1

    page.reload()  # the answer stands; no form again
    assert page.locator("#survey-form").count() == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_supervisor_sees_the_figures_and_downloads_the_days_figures(page, live_server, tmp_path) -> None:
    desk = figures_desk()
    boss = staff("sup1", "supervisors")
    boss.set_password(PASSWORD)
    boss.save()
    complaint_resolved()  # a ticket ended today

    page.set_viewport_size(DESK_VIEWPORT)
    login(page, live_server, "sup1", PASSWORD)
    page.goto(f"{live_server.url}/admin/dashboard/quality/")
    assert page.locator("#kpi-handled .kefu-kpi-value").inner_text() == "5"
    assert page.locator("#kpi-satisfaction .kefu-kpi-value").inner_text() == "3.00 (2)"
    for chart in ("satisfaction-by-agent", "first-response-by-agent", "breaches-by-department"):
        svg = page.locator(f'svg[data-chart="{chart}"]')
        assert svg.is_visible(), chart
        assert svg.locator("rect.kefu-bar").count() > 0, chart
    li_row = page.locator("#figures-agents tbody tr", has_text="li")
    assert "1 h 15 min" in li_row.inner_text() or "1小时15分" in li_row.inner_text().replace(" ", "")
    screenshot(page, "desk-figures")

    today = period_from({"preset": "today"})
    todays = Ticket.objects.filter(closed_at__gte=today.since).exclude(state="cancelled").count()
    assert 1 <= todays < 5
    page.click("#preset-today")
    page.wait_for_url("**/admin/dashboard/quality/?preset=today")
    assert page.locator("#kpi-handled .kefu-kpi-value").inner_text() == str(todays)
    with page.expect_download() as info:
        page.click("#export-figures-xlsx")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    rows = [list(r) for r in load_workbook(path, read_only=True).active.iter_rows(values_only=True)]
    assert rows[0][:3] == ["范围", "名称", "已处理"]
    assert rows[1][:3] == ["合计", "全部售后单", todays]
    # li's tickets ended two and three days ago: not in the day's figures.
    assert desk.tickets["t1"].closed_at < today.since and desk.tickets["t2"].closed_at < today.since
    assert all(r[1] != "li" for r in rows[1:])
