"""The follow-ups of low scores in the admin: the supervisors' work list, marked done through the service."""

from __future__ import annotations

import pytest

from quality.models import FollowUp, FollowUpStatus, Survey
from quality.services import survey_answer
from tests.quality.desk import staff
from tests.quality.support import complaint_resolved

pytestmark = pytest.mark.django_db

URL = "/admin/quality/followup/"


def low_answer(score: int = 1) -> FollowUp:
    ticket = complaint_resolved(phone=f"1380000{score:04d}")
    survey_answer(survey_id=Survey.objects.get(ticket=ticket).pk, score=score, comment="太慢")
    return FollowUp.objects.get(ticket=ticket)


def test_a_supervisor_sees_the_open_follow_ups_with_their_ticket_and_marks_one_done(client) -> None:
    boss = staff("boss", "supervisors")
    client.force_login(boss)
    follow_up = low_answer()
    page = client.get(URL, headers={"accept-language": "zh-hans"})
    assert page.status_code == 200
    html = page.content.decode()
    assert follow_up.ticket.number in html and "太慢" in html and "待跟进" in html
    assert f"/admin/tickets/ticket/{follow_up.ticket_id}/change/" in html

    done = client.post(
        URL, {"action": "mark_done", "_selected_action": [follow_up.pk]}, headers={"accept-language": "zh-hans"}
    )
    assert done.status_code == 302
    follow_up.refresh_from_db()
    assert (follow_up.status, follow_up.done_by_id) == (FollowUpStatus.DONE, boss.pk)
    assert follow_up.ticket.number not in client.get(URL).content.decode()  # the list opens on the open ones
    assert follow_up.ticket.number in client.get(URL + "?status=done").content.decode()
    # An object's page is read-only.
    assert b'name="_save"' not in client.get(f"{URL}{follow_up.pk}/change/").content


def test_department_staff_do_not_see_the_follow_ups(client) -> None:
    client.force_login(staff("ops1", "operations"))
    low_answer()
    assert client.get(URL).status_code == 403
    assert client.get("/admin/quality/survey/").status_code == 403
    assert b"/admin/quality/" not in client.get("/admin/").content
