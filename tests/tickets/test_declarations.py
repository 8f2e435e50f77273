"""One declaration per transition drives everything: the catalogue, the service, the API, the admin and the docs.

Every django-fsm transition of every kind has its ``custom=Act(...)`` and is in the catalogue (and nothing else
is); for every action people may run, the API's ``actions`` list for an allowed actor, the API's input
serializer, the admin page's button and form, and the docs' table row carry the declared label and inputs;
the admin's bulk actions are the declared ones; and a changed declaration makes the committed docs stale.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.urls import reverse

from api.actions import ACTIONS, available_actions, input_serializer
from desk.admin.bulk import TRANSITION_ACTIONS
from desk.admin.forms import transition_form_class
from tests.admin.conftest import desk_user, logged_in
from tests.factories.tickets import actor_for, ticket_build
from tickets import actions as catalogue
from tickets.actions import act_of
from tickets.management.commands import graph_transitions
from tickets.management.commands.graph_transitions import md_begin, md_end, need_text, render
from tickets.workflows import model_for_kind, ticket_models
from tickets.workflows.acts import Act

STAFF = ("operations", "warehouse", "logistics", "supervisors")
DOCS = Path(settings.BASE_DIR) / "docs" / "state-machines.md"
OFFERED = sorted(catalogue.offered())
# What a declared guard (``conditions=``) needs of the ticket besides its state.
GUARDED = {("return", "submit_evidence"): {"platform": "taobao"}}  # evidence goes to a marketplace


def fsm_transitions() -> set[tuple[str, str]]:
    found = set()
    for kind, model in ticket_models().items():
        for transition in model._meta.get_field("state").get_all_transitions(model):
            assert isinstance(transition.custom, Act), f"{kind}.{transition.name} has no custom=Act(...)"
            found.add((str(kind), transition.name))
    return found


def test_every_transition_is_declared_and_the_catalogue_holds_nothing_else() -> None:
    assert fsm_transitions() == set(catalogue.catalogue())
    assert set(ACTIONS) == {key for key, action in catalogue.catalogue().items() if not action.system_only}
    system_only = {name for (_kind, name), action in catalogue.catalogue().items() if action.system_only}
    # Run by the sweep or the payment task, or only by a marketplace (its intervention, 平台介入).
    assert system_only == {"expire", "auto_refund", "auto_complete", "complete_refund", "intervene", "request_evidence"}


def test_a_transition_without_a_declaration_is_refused() -> None:
    model = model_for_kind("return")
    [approve] = [t for t in model._meta.get_field("state").get_all_transitions(model) if t.name == "approve"]
    undeclared = dataclasses.make_dataclass("T", ["name", "source", "target", "custom"])("approve", "a", "b", {})
    assert act_of(approve) is approve.custom
    with pytest.raises(ImproperlyConfigured, match="has no custom=Act"):
        act_of(undeclared)


@pytest.mark.parametrize(("kind", "name"), OFFERED, ids=[f"{k}.{n}" for k, n in OFFERED])
def test_the_api_serializer_and_the_admin_form_are_the_declared_needs(kind: str, name: str) -> None:
    action = catalogue.action_get(kind, name)
    fields = input_serializer(kind, name)().fields
    assert [(n, f.required, str(f.label)) for n, f in fields.items()] == [
        (need.name, need.required, str(need.label)) for need in action.needs
    ]
    form = transition_form_class(action)()
    assert {n: (f.required, str(f.label)) for n, f in form.fields.items() if n != "version"} == {
        need.name: (need.required, str(need.label)) for need in action.needs
    }


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "name"), OFFERED, ids=[f"{k}.{n}" for k, n in OFFERED])
def test_an_allowed_actor_is_offered_the_declared_action_by_the_api_and_the_admin(kind: str, name: str) -> None:
    action = catalogue.action_get(kind, name)
    with transaction.atomic():
        ticket = ticket_build(kind, action.sources[0], **GUARDED.get((kind, name), {}))
    role = next(r for r in action.roles if r not in ("system", "integration"))
    described = {"name": name, "label": str(action.label), "needs": [n.name for n in action.needs if n.required]}
    assert described in available_actions(ticket, actor_for(role, ticket))

    if not set(action.roles) & set(STAFF):  # a buyer's action: the admin offers it to nobody
        return
    # A supervisor sees every ticket and may act for every department (the page of a ticket in another
    # department's queue would send the department's member away).
    client = logged_in(desk_user("supervisors", username="desk-supervisor"))
    response = client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    [button] = [b for b in response.context["transition_buttons"] if b["name"] == name]
    assert button["label"] == str(action.label)
    assert [n for n in button["form"].fields if n != "version"] == sorted(
        (need.name for need in action.needs), key=lambda n: not action.act.needs_by_name[n].required
    )
    assert str(action.label) in response.content.decode()


@pytest.mark.parametrize("kind", ["return", "exchange", "complaint", "logistics"])
def test_the_docs_table_rows_are_the_declarations(kind: str) -> None:
    table = render(kind, "md")
    doc = DOCS.read_text(encoding="utf-8")
    assert table.rstrip("\n") in doc
    rows = {line.split(" | ")[0].strip("| `"): line for line in table.splitlines() if line.startswith("| `")}
    for action in catalogue.actions_of(kind):
        row = rows[action.name].split(" | ")
        assert row[1] == str(action.label)
        assert row[4] == (", ".join(action.roles) or "anyone")
        assert row[5] == (", ".join(need_text(need) for need in action.needs) or "—")


def test_a_changed_declaration_makes_the_committed_docs_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    """What tests/tickets/test_commands.py compares the committed docs with follows the declaration."""
    approve = catalogue.action_get("return", "approve")
    changed = dataclasses.replace(approve, act=dataclasses.replace(approve.act, label="Approve at once"))
    monkeypatch.setattr(
        graph_transitions,
        "action_get",
        lambda kind, name: changed if (kind, name) == ("return", "approve") else catalogue.action_get(kind, name),
    )
    doc = DOCS.read_text(encoding="utf-8")
    start, end = doc.find(md_begin("return")), doc.find(md_end("return"))
    assert doc[start : end + len(md_end("return"))] + "\n" != render("return", "md")
    assert "| `approve` | Approve at once |" in render("return", "md")


def test_the_bulk_actions_are_the_declared_ones_that_need_no_input() -> None:
    declared = catalogue.bulk_actions()
    assert [a.__name__ for a in TRANSITION_ACTIONS] == [f"bulk_{name}" for name in declared]
    assert set(declared) == {"approve", "acknowledge", "investigate", "receive", "pass_inspection", "resolve"}
    for action in catalogue.catalogue().values():
        if action.name in declared and action.act.bulk is not None:
            assert not action.needs_input and not action.system_only
