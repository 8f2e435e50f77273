"""The project's own management commands (graph_transitions, seed_demo) and the first ticket admin.

The graph tests compare the command's output with the models read independently here, and the committed
docs with the command's output, so neither the command nor docs/ can drift from the state machines.
"""

from __future__ import annotations

import re
from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation
from django_fsm import State

from desk.demo.setup import DEMO_PASSWORD, DEMO_SHOP_CODES, DEMO_USERNAME, STAFF, STAFF_PASSWORD
from kefu.core.vocabulary import STATES_BY_KIND, state_label
from orders.models import Order, Shop
from tickets.actions import action_get
from tickets.management.commands.graph_transitions import md_begin, md_end
from tickets.models import Kind, Refund, Ticket, TicketEvent
from tickets.selectors import ticket_replayed_state
from tickets.workflows import model_for_kind

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
KINDS = list(Kind.values)
EDGE = re.compile(r'^\s*"(\w+)" -> "(\w+)" \[label="(\w+)', re.MULTILINE)


def run(*args: str, **options: object) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def model_edges(kind: str) -> set[tuple[str, str, str]]:
    """(source, target, transition) of every arrow the kind's state machine allows, read from django-fsm."""
    model = model_for_kind(kind)
    edges = set()
    for transition in model._meta.get_field("state").get_all_transitions(model):
        target = transition.target
        targets = target.allowed_states if isinstance(target, State) else [target]
        edges |= {(str(transition.source), str(t), transition.name) for t in targets}
    return edges


# -- graph_transitions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_graph_has_every_state_and_every_transition_of_the_model(kind: str) -> None:
    dot = run("graph_transitions", kind=kind)

    model = model_for_kind(kind)
    for state in STATES_BY_KIND[kind].values:
        assert re.search(rf'^\s*"{state}" \[', dot, re.MULTILINE), f"state {state} has no node"
    assert set(EDGE.findall(dot)) == model_edges(kind)
    assert f'"__start__" -> "{model.INITIAL_STATE}";' in dot
    for state in model.FINAL_STATES:
        assert re.search(rf'^\s*"{state}" \[shape=doublecircle', dot, re.MULTILINE), f"end state {state}"


@pytest.mark.parametrize("kind", KINDS)
def test_graph_edges_say_who_acts(kind: str) -> None:
    dot = run("graph_transitions", kind=kind)

    model = model_for_kind(kind)
    for transition in model._meta.get_field("state").get_all_transitions(model):
        roles = ", ".join(
            r
            for r in (
                "buyer",
                "operations",
                "warehouse",
                "logistics",
                "supervisors",
                "system",
                "integration",
                "platform",
            )
            if r in transition.permission.roles
        )
        assert f'label="{transition.name}\\n({roles})' in dot


@pytest.mark.parametrize("kind", KINDS)
def test_markdown_lists_every_state_and_transition(kind: str) -> None:
    md = run("graph_transitions", kind=kind, format="md")

    model = model_for_kind(kind)
    rows = [line for line in md.splitlines() if line.startswith("| `")]
    state_rows = {line.split("|")[1].strip().strip("`") for line in rows}
    assert set(STATES_BY_KIND[kind].values) <= state_rows
    transitions = {t.name for t in model._meta.get_field("state").get_all_transitions(model)}
    assert transitions <= state_rows
    # Deadlines come from the kind's STEPS table, e.g. requested: 48 h → approve.
    initial_row = next(line for line in rows if line.startswith(f"| `{model.INITIAL_STATE}` |"))
    assert model.STEPS[model.INITIAL_STATE].owner in initial_row


def test_without_kind_all_four_graphs_are_printed() -> None:
    dot = run("graph_transitions")

    assert [f"digraph {kind} {{" in dot for kind in KINDS] == [True] * 4


def test_committed_dot_files_are_what_the_command_generates_now(tmp_path: Path) -> None:
    run("graph_transitions", output=str(tmp_path))

    committed = sorted(p.name for p in (DOCS / "state-machines").glob("*.dot"))
    assert committed == sorted(f"{kind}.dot" for kind in KINDS)
    for kind in KINDS:
        generated = (tmp_path / f"{kind}.dot").read_text(encoding="utf-8")
        assert (DOCS / "state-machines" / f"{kind}.dot").read_text(encoding="utf-8") == generated, (
            f"docs/state-machines/{kind}.dot is out of date: "
            "run `python manage.py graph_transitions --output docs/state-machines --svg`"
        )


@pytest.mark.parametrize("kind", KINDS)
def test_tables_in_state_machines_md_are_what_the_command_generates_now(kind: str) -> None:
    doc = (DOCS / "state-machines.md").read_text(encoding="utf-8")
    generated = run("graph_transitions", kind=kind, format="md")

    start, end = doc.find(md_begin(kind)), doc.find(md_end(kind))
    assert start >= 0 and end > start, f"docs/state-machines.md has no generated block for {kind}"
    assert doc[start : end + len(md_end(kind))] + "\n" == generated, (
        f"the {kind} tables in docs/state-machines.md are out of date: paste "
        f"`python manage.py graph_transitions --format md --kind {kind}` over them"
    )


# -- seed_demo -------------------------------------------------------------------------------------------


def demo_counts() -> dict[str, int]:
    return {
        "shops": Shop.objects.count(),
        "orders": Order.objects.count(),
        "tickets": Ticket.objects.count(),
        "events": TicketEvent.objects.count(),
        "refunds": Refund.objects.count(),
        "users": get_user_model().objects.count(),
    }


@pytest.fixture
def demo(settings: object, tmp_path: Path) -> None:
    """The demo data set, built by the command (it refuses to run with DEBUG off, pytest-django's default)."""
    settings.DEBUG = True  # type: ignore[attr-defined]
    settings.MEDIA_ROOT = tmp_path / "media"  # type: ignore[attr-defined]  # the demo's evidence photos
    # The demo logins' passwords are hashed with Django's default (slow on purpose); tests need not wait.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]
    run("seed_demo")


@pytest.mark.django_db
def test_seed_demo_refuses_without_debug(settings: object) -> None:
    settings.DEBUG = False  # type: ignore[attr-defined]

    with pytest.raises(CommandError, match="DEBUG"):
        run("seed_demo")
    assert Ticket.objects.count() == 0


@pytest.mark.django_db
def test_seed_demo_makes_tickets_of_every_kind_in_many_states(demo: None) -> None:
    pairs = Counter(Ticket.objects.values_list("kind", "state"))

    assert {kind for kind, _ in pairs} == set(KINDS)
    assert len(pairs) >= 12
    for kind, state in [
        ("return", "requested"),
        ("return", "awaiting_return"),
        ("return", "return_in_transit"),
        ("return", "received"),
        ("return", "refund_pending"),
        ("return", "refunded"),
        ("return", "rejected"),
        ("return", "arbitration"),
        ("exchange", "replacement_shipped"),
        ("exchange", "closed"),
        ("complaint", "open"),
        ("complaint", "investigating"),
        ("complaint", "resolution_proposed"),
        ("logistics", "reported"),
        ("logistics", "investigating"),
        ("logistics", "compensating"),
    ]:
        assert pairs[(kind, state)] >= 1, f"no {kind} ticket in {state}"
    assert set(Shop.objects.values_list("code", flat=True)) == set(DEMO_SHOP_CODES)


@pytest.mark.django_db
def test_every_demo_timeline_replays_to_the_ticket_state(demo: None) -> None:
    wrong = {t.number: t.state for t in Ticket.objects.all() if ticket_replayed_state(ticket=t) != t.state}

    assert wrong == {}


@pytest.mark.django_db
def test_out_of_stock_exchange_is_linked_to_its_paid_refund(demo: None) -> None:
    exchange = Ticket.objects.get(kind="exchange", state="closed")

    refund_ticket = Ticket.objects.get(origin=exchange)
    assert (refund_ticket.kind, refund_ticket.state) == ("return", "refunded")
    assert refund_ticket.refunds.get().status == "succeeded"


@pytest.mark.django_db
def test_seed_demo_twice_creates_nothing_more(demo: None) -> None:
    before = demo_counts()

    out = run("seed_demo")

    assert demo_counts() == before
    assert "already present" in out
    assert before["tickets"] >= 20


@pytest.mark.django_db
def test_seed_demo_reset_rebuilds_the_same_data_set(demo: None) -> None:
    before = demo_counts()
    old_numbers = set(Ticket.objects.values_list("number", flat=True))

    run("seed_demo", reset=True)

    assert demo_counts() == before
    assert old_numbers.isdisjoint(Ticket.objects.values_list("number", flat=True))


@pytest.mark.django_db
def test_seed_demo_logins_work(demo: None, client) -> None:
    assert client.login(username=DEMO_USERNAME, password=DEMO_PASSWORD)
    for username, department in STAFF.items():
        user = get_user_model().objects.get(username=username)
        assert list(user.groups.values_list("name", flat=True)) == [department.value]
        assert client.login(username=username, password=STAFF_PASSWORD)
        assert client.get(reverse("admin:tickets_ticket_changelist")).status_code == 200


# -- admin ------------------------------------------------------------------------------------------------


@pytest.fixture
def superuser_client(demo: None, client):
    client.force_login(get_user_model().objects.get(username="admin"))
    return client


@pytest.mark.django_db
def test_ticket_changelist_runs_a_bounded_number_of_queries(superuser_client, django_assert_max_num_queries) -> None:
    url = reverse("admin:tickets_ticket_changelist")

    # session, user, page count, the page's ids and rows, the page's buyers' risk flags, the queue tabs' counts
    # (one query), department names, and the choices of the assignee and shop filters and of the "Assign to"
    # action (tests/admin/test_ticket_list.py compares 20 and 100 rows); a search adds its order and parcel
    # lookups.
    with django_assert_max_num_queries(12):
        response = superuser_client.get(url)
    assert response.status_code == 200
    numbers = list(Ticket.objects.values_list("number", flat=True))
    assert all(number in response.content.decode() for number in numbers)
    with django_assert_max_num_queries(13):
        assert superuser_client.get(url, {"kind__exact": "return", "q": numbers[0]}).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_ticket_page_is_read_only_and_shows_the_timeline(
    superuser_client, django_assert_max_num_queries, kind: str
) -> None:
    ticket = Ticket.objects.filter(kind=kind).order_by("-version").first()
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])

    # The ticket, its lines, refunds, order, lines, shipments, timeline, evidence, notifications, linked tickets,
    # staff to reassign to, department names, and the buyer panel's earlier tickets, totals and the ticket's lines, the
    # macros that apply now (desk.admin.replies) (tests/admin/test_ticket_desk.py: the same however long the history).
    with django_assert_max_num_queries(23):
        response = superuser_client.get(url)

    assert response.status_code == 200
    page = response.content.decode()
    # State changes only through the transition buttons (tests/admin): the admin's own form saves nothing.
    assert 'name="state"' not in page and 'name="_save"' not in page
    # Each transition with its states' and operation's labels (no codes: tests/admin/test_ticket_desk.py).
    with translation.override(response.wsgi_request.LANGUAGE_CODE):
        for event in TicketEvent.objects.filter(ticket=ticket, event_type="transition"):
            change = f"{state_label(kind, event.from_state)} → {state_label(kind, event.to_state)}"
            assert change in page and str(action_get(kind, event.transition).label) in page


@pytest.mark.django_db
def test_ticket_cannot_be_changed_through_the_admin(superuser_client) -> None:
    ticket = Ticket.objects.filter(state="requested").first()
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])

    response = superuser_client.post(url, {"state": "refunded"})

    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.state == "requested"


@pytest.mark.django_db
def test_reason_codes_are_editable_but_the_services_own_stay_active(superuser_client) -> None:
    from tickets.models import ReasonCode

    reason = ReasonCode.objects.get(code="damaged")
    url = reverse("admin:tickets_reasoncode_change", args=[reason.pk])
    data = {"label_zh": "破损", "label_en": "Broken", "kinds": ["return"], "sort_order": 5}

    assert superuser_client.post(url, data).status_code == 302
    reason.refresh_from_db()
    assert (reason.label_en, reason.kinds, reason.active) == ("Broken", ["return"], False)

    system = ReasonCode.objects.get(code="out_of_stock")
    response = superuser_client.post(
        reverse("admin:tickets_reasoncode_change", args=[system.pk]),
        {"label_zh": "缺货", "label_en": "Out of stock", "kinds": ["return"], "sort_order": 5},
    )
    assert response.status_code == 200  # the form comes back with the error
    system.refresh_from_db()
    assert system.active


@pytest.mark.django_db
def test_refund_admin_is_read_only(superuser_client) -> None:
    refund = Refund.objects.first()

    assert superuser_client.get(reverse("admin:tickets_refund_changelist")).status_code == 200
    assert superuser_client.get(reverse("admin:tickets_refund_change", args=[refund.pk])).status_code == 200
    assert superuser_client.get(reverse("admin:tickets_refund_add")).status_code == 403
