"""The timeline: append-only, replays to the ticket's state, and holds comments, evidence and assignments."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.db import DatabaseError, connection, transaction
from pytest_django import Settings

from kefu.core.errors import ValidationFailed
from tests.factories.tickets import (
    buyer_actor,
    other_buyer_actor,
    staff_actor,
    system_actor,
    ticket_build,
    ticket_reload,
    user_create,
)
from tests.markers import requires_postgres
from tickets.errors import FieldRequired, NotPermitted, TicketChanged
from tickets.models import AppendOnlyError, Attachment, TicketEvent
from tickets.selectors import ticket_replayed_state, ticket_timeline
from tickets.services import ticket_act
from tickets.services.assignment import ticket_assign
from tickets.services.timeline import ticket_comment_add, ticket_evidence_attach

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


# -- append-only -----------------------------------------------------------------------------------------


def test_an_event_cannot_be_changed_or_deleted() -> None:
    ticket = ticket_build("return", "requested")
    event = ticket_comment_add(ticket=ticket, actor=buyer_actor(ticket), body="什么时候处理?")

    event.reason = "改过的内容"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()

    assert TicketEvent.objects.get(pk=event.pk).reason == "什么时候处理?"


@requires_postgres
@pytest.mark.parametrize(
    "sql",
    ["UPDATE tickets_ticketevent SET reason = 'forged' WHERE id = %s", "DELETE FROM tickets_ticketevent WHERE id = %s"],
    ids=["update", "delete"],
)
def test_the_database_refuses_raw_sql_that_changes_the_timeline(sql: str) -> None:
    ticket = ticket_build("return", "requested")
    event = ticket_comment_add(ticket=ticket, actor=buyer_actor(ticket), body="原话")

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [event.pk])

    assert TicketEvent.objects.get(pk=event.pk).reason == "原话"


# -- replay ----------------------------------------------------------------------------------------------


def test_the_timeline_replays_to_the_current_state_after_every_step() -> None:
    ticket = ticket_build("return", "requested")
    operations, warehouse = staff_actor("operations"), staff_actor("warehouse")
    steps = [
        lambda t: ticket_act(ticket=t, actor=operations, action="approve"),
        lambda t: ticket_act(ticket=t, actor=buyer_actor(t), action="ship_back", carrier="SF", tracking_number="SF9"),
        lambda t: ticket_act(ticket=t, actor=warehouse, action="receive"),
        lambda t: ticket_act(ticket=t, actor=warehouse, action="fail_inspection", reason="人为损坏"),
        lambda t: ticket_act(ticket=t, actor=buyer_actor(t), action="escalate"),
        lambda t: ticket_act(ticket=t, actor=staff_actor("supervisors"), action="uphold_buyer"),
    ]
    assert ticket_replayed_state(ticket=ticket) == "requested"
    for step in steps:
        ticket = step(ticket)
        ticket_comment_add(ticket=ticket, actor=operations, body="跟进中", public=False)
        assert ticket_replayed_state(ticket=ticket) == ticket_reload(ticket).state

    assert ticket.state == "refund_pending"  # the goods were already back, so arbitration went to the refund


def test_an_inconsistent_timeline_does_not_replay() -> None:
    ticket = ticket_build("return", "received", goods_received=True)
    ticket_act(ticket=ticket, actor=staff_actor("warehouse"), action="pass_inspection")
    TicketEvent.objects.create(
        ticket=ticket,
        event_type="transition",
        actor_kind="system",
        actor_name="forger",
        transition="complete_refund",
        from_state="received",
        to_state="refunded",
    )
    assert ticket_replayed_state(ticket=ticket) is None


# -- comments --------------------------------------------------------------------------------------------


def test_buyer_and_staff_comment_and_only_staff_write_internal_notes() -> None:
    ticket = ticket_build("complaint", "investigating")
    agent = staff_actor("operations")

    public = ticket_comment_add(ticket=ticket, actor=buyer_actor(ticket), body="  请尽快回复  ")
    internal = ticket_comment_add(ticket=ticket, actor=agent, body="买家是 VIP, 优先处理", public=False)
    with pytest.raises(NotPermitted) as refused:
        ticket_comment_add(ticket=ticket, actor=buyer_actor(ticket), body="偷偷写", public=False)

    assert refused.value.field == "public"
    assert (public.event_type, public.reason, public.public, public.actor_kind) == (
        "comment",
        "请尽快回复",
        True,
        "buyer",
    )
    assert (internal.public, internal.actor_user_id) == (False, agent.user.pk)
    buyer_view = ticket_timeline(ticket=ticket, public_only=True).filter(event_type="comment")
    assert [e.reason for e in buyer_view] == ["请尽快回复"]
    assert ticket_timeline(ticket=ticket).filter(event_type="comment").count() == 2


@pytest.mark.parametrize("body", ["", "   ", "\n"])
def test_an_empty_comment_is_refused(body: str) -> None:
    ticket = ticket_build("return", "requested")
    with pytest.raises(FieldRequired) as refused:
        ticket_comment_add(ticket=ticket, actor=staff_actor("operations"), body=body)
    assert refused.value.field == "body"
    assert not TicketEvent.objects.filter(ticket=ticket, event_type="comment").exists()


def test_a_comment_longer_than_5000_characters_is_refused() -> None:
    ticket = ticket_build("return", "requested")
    ticket_comment_add(ticket=ticket, actor=buyer_actor(ticket), body="字" * 5000)
    with pytest.raises(ValidationFailed) as refused:
        ticket_comment_add(ticket=ticket, actor=buyer_actor(ticket), body="字" * 5001)
    assert (refused.value.code, refused.value.field) == ("invalid", "body")


def test_a_buyer_cannot_comment_on_another_buyers_ticket() -> None:
    ticket = ticket_build("return", "requested")
    with pytest.raises(NotPermitted):
        ticket_comment_add(ticket=ticket, actor=other_buyer_actor(ticket), body="路过")
    assert not TicketEvent.objects.filter(ticket=ticket, event_type="comment").exists()


# -- evidence --------------------------------------------------------------------------------------------


@pytest.fixture
def media_root(settings: Settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_evidence_is_stored_through_storage_and_noted_on_the_timeline(media_root: Path) -> None:
    ticket = ticket_build("return", "requested")

    attachment = ticket_evidence_attach(
        ticket=ticket,
        actor=buyer_actor(ticket),
        file=ContentFile(PNG, name="crack.png"),
        original_name="crack.png",
        content_type="image/png",
    )

    (path,) = stored_files(media_root)
    assert path.read_bytes() == PNG
    assert path.relative_to(media_root).parts[0] == "evidence"
    assert str(ticket.pk) in path.relative_to(media_root).parts
    assert (attachment.original_name, attachment.size, attachment.content_type, attachment.actor_kind) == (
        "crack.png",
        len(PNG),
        "image/png",
        "buyer",
    )
    assert attachment.file.read() == PNG
    event = TicketEvent.objects.get(ticket=ticket, event_type="evidence")
    assert event.payload == {"attachment": attachment.pk, "name": "crack.png", "type": "image/png"}


@pytest.mark.parametrize(
    ("content", "content_type", "code"),
    [
        (b"%PDF-1.7", "application/pdf", "unsupported_media_type"),
        (b"MZ\x90\x00", "application/x-msdownload", "unsupported_media_type"),
        (b"", "image/png", "invalid"),
    ],
    ids=["pdf", "executable", "empty file"],
)
def test_evidence_of_a_type_not_allowed_is_refused_and_not_stored(
    media_root: Path, content: bytes, content_type: str, code: str
) -> None:
    ticket = ticket_build("return", "requested")
    with pytest.raises(ValidationFailed) as refused:
        ticket_evidence_attach(
            ticket=ticket,
            actor=buyer_actor(ticket),
            file=ContentFile(content, name="file.bin"),
            original_name="file.bin",
            content_type=content_type,
        )
    assert (refused.value.code, refused.value.field) == (code, "file")
    assert stored_files(media_root) == []
    assert not Attachment.objects.exists()
    assert not TicketEvent.objects.filter(ticket=ticket, event_type="evidence").exists()


def test_a_buyer_cannot_attach_to_another_buyers_ticket(media_root: Path) -> None:
    ticket = ticket_build("return", "requested")
    with pytest.raises(NotPermitted):
        ticket_evidence_attach(
            ticket=ticket,
            actor=other_buyer_actor(ticket),
            file=ContentFile(PNG, name="x.png"),
            original_name="x.png",
            content_type="image/png",
        )
    assert stored_files(media_root) == []


# -- assignment ------------------------------------------------------------------------------------------


def test_assignment_and_unassignment_are_on_the_timeline() -> None:
    ticket = ticket_build("return", "requested")
    li = user_create("li.wei")
    supervisor = staff_actor("supervisors")

    assigned = ticket_assign(ticket=ticket, actor=supervisor, assignee=li)
    unassigned = ticket_assign(ticket=assigned, actor=supervisor, assignee=None)

    assert ticket_reload(ticket).assignee is None
    assert unassigned.version == ticket.version + 2
    events = TicketEvent.objects.filter(ticket=ticket, event_type="assignment")
    assert [(e.payload["assignee"], e.payload["previous"], e.public) for e in events] == [
        ("li.wei", None, False),
        (None, "li.wei", False),
    ]
    assert {e.actor_user_id for e in events} == {supervisor.user.pk}


def test_assigning_from_a_stale_copy_is_refused() -> None:
    ticket = ticket_build("return", "requested")
    stale = ticket_reload(ticket)
    ticket_act(ticket=ticket, actor=system_actor(), action="approve")

    with pytest.raises(TicketChanged):
        ticket_assign(ticket=stale, actor=staff_actor("supervisors"), assignee=user_create())
    assert ticket_reload(ticket).assignee is None


def test_a_buyer_cannot_assign_a_ticket() -> None:
    from tests.factories.tickets import buyer_actor, ticket_build
    from tickets.errors import NotPermitted
    from tickets.services.assignment import ticket_assign

    ticket = ticket_build("return", "requested")
    with pytest.raises(NotPermitted):
        ticket_assign(ticket=ticket, actor=buyer_actor(ticket.order), assignee=None)
