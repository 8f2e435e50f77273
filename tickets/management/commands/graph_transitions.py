"""``manage.py graph_transitions``: each kind's state machine as a Graphviz DOT graph or Markdown tables.

Everything is read from the code: the states from ``kefu.core.vocabulary``, the transitions from
django-fsm (``Model._meta.get_field("state").get_all_transitions(Model)``), who acts from each transition's
``permission=by(...)``, labels and inputs from its declaration (``custom=Act(...)``, read through the
catalogue ``tickets.actions``, as the API and the admin read it), and the owner, deadline and
due action of each state from the kind's ``STEPS`` table. docs/state-machines/*.dot and the tables in
docs/state-machines.md are this command's output; tests/tickets/test_commands.py fails when they drift.

The output is deterministic (states in their declared order, edges sorted, English labels) so that a
regenerated file differs from the committed one only when the state machine changed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models
from django.utils import translation
from django_fsm import State

from kefu.core.vocabulary import STATES_BY_KIND
from tickets.actions import action_get
from tickets.models import Kind, Ticket
from tickets.workflows import model_for_kind
from tickets.workflows.acts import Need
from tickets.workflows.steps import BUYER, ESCALATE, Step

FORMATS = ("dot", "md")
GENERATED_BY = "manage.py graph_transitions"

# Fill colour of a state by who must act in it (the STEPS owner); end states are left white.
OWNER_COLOURS = {
    "operations": "#dbeafe",
    "warehouse": "#fef3c7",
    "logistics": "#dcfce7",
    "supervisors": "#fce7f3",
    BUYER: "#f3f4f6",
}


@dataclass(frozen=True)
class Edge:
    """One arrow: a transition from one state to one of its possible targets."""

    name: str
    label: str
    source: str
    target: str
    roles: tuple[str, ...]
    needs: tuple[str, ...]
    conditions: tuple[str, ...]
    # The target is computed when the transition runs (django-fsm GET_STATE / RETURN_VALUE).
    dynamic: bool
    targets: tuple[str, ...]


@dataclass(frozen=True)
class Machine:
    kind: str
    title: str
    states: tuple[str, ...]
    labels: dict[str, str]
    initial: str
    end_states: frozenset[str]
    steps: dict[str, Step]
    edges: tuple[Edge, ...]


def _condition_name(condition: Any, model: type[Ticket]) -> str:
    """A condition's name as the workflow module calls it (``can_reopen``), else its function name."""
    module = sys.modules.get(model.__module__)
    for name, value in vars(module).items() if module else ():
        if value is condition and not name.startswith("_"):
            return name
    return getattr(condition, "__name__", type(condition).__name__)


def _sources(source: str, target_states: Iterable[str], states: tuple[str, ...]) -> list[str]:
    """django-fsm's wildcard sources expanded: ``*`` is every state, ``+`` every state but the target."""
    if source == "*":
        return list(states)
    if source == "+":
        return [s for s in states if s not in set(target_states)]
    return [source]


def machine_for(kind: str) -> Machine:
    """The state machine of ``kind`` as read from its model."""
    model = model_for_kind(kind)
    choices: type[models.TextChoices] = STATES_BY_KIND[kind]
    states = tuple(str(value) for value in choices.values)
    field = model._meta.get_field("state")
    edges: list[Edge] = []
    for transition in field.get_all_transitions(model):
        target = transition.target
        if isinstance(target, State):
            targets = tuple(str(s) for s in target.allowed_states)
            if not targets:
                raise CommandError(
                    f"{model.__name__}.{transition.name} computes its target without listing the possible "
                    "states (states=[...]); the graph cannot show it."
                )
            dynamic = True
        else:
            targets = (str(target if target is not None else transition.source),)
            dynamic = False
        action = action_get(kind, transition.name)
        if action is None:
            raise CommandError(f"{model.__name__}.{transition.name} is not in the catalogue (tickets.actions).")
        for source in _sources(str(transition.source), targets, states):
            for to in targets:
                edges.append(
                    Edge(
                        name=transition.name,
                        label=str(action.label),
                        source=source,
                        target=to,
                        roles=action.roles,
                        needs=tuple(need_text(need) for need in action.needs),
                        conditions=tuple(_condition_name(c, model) for c in transition.conditions),
                        dynamic=dynamic,
                        targets=targets,
                    )
                )
    order = {state: i for i, state in enumerate(states)}
    unknown = {e.source for e in edges} | {e.target for e in edges}
    unknown -= set(states)
    if unknown:
        raise CommandError(f"{model.__name__} has transitions to or from unknown states: {sorted(unknown)}")
    edges.sort(key=lambda e: (order[e.source], e.name, order[e.target]))
    steps = {str(state): step for state, step in model.STEPS.items()}
    return Machine(
        kind=kind,
        title=str(Kind(kind).label),
        states=states,
        labels={str(value): str(label) for value, label in choices.choices},
        initial=str(model.INITIAL_STATE),
        # An end state: the kind says so, or its step has nobody left to act (a complaint's ``closed`` may
        # still be reopened, which the graph shows as an arrow leaving it).
        end_states=frozenset(str(s) for s in model.FINAL_STATES) | {s for s, step in steps.items() if not step.owner},
        steps=steps,
        edges=tuple(edges),
    )


def need_text(need: Need) -> str:
    """``reason`` (required) or ``reason?`` (optional), as the graph and the tables show an input."""
    return need.name if need.required else f"{need.name}?"


def duration_text(delta: timedelta) -> str:
    """``48 h``, ``72 h``, ``7 d``: hours up to three days, as the SPEC writes its deadlines."""
    seconds = int(delta.total_seconds())
    if seconds % 86400 == 0 and seconds > 3 * 86400:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"


def owner_text(step: Step) -> str:
    return step.owner or "—"


def due_text(step: Step, *, code: str = "") -> str:
    """``48 h → approve`` (a platform timeout runs a transition) or ``24 h → escalate`` (an internal SLA)."""
    if step.deadline is None:
        return "—"
    action = step.on_due or "nothing"
    if action != ESCALATE and code:
        action = f"{code}{action}{code}"
    return f"{duration_text(step.deadline)} → {action}"


# -- DOT ------------------------------------------------------------------------------------------------


def _q(text: str) -> str:
    """A DOT double-quoted string; ``\\n`` in ``text`` stays a DOT line break."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_dot(machine: Machine) -> str:
    lines = [
        f"// The {machine.kind} state machine. Generated by `{GENERATED_BY} --output docs/state-machines`"
        " from tickets/workflows; do not edit.",
        f"digraph {machine.kind} {{",
        f"  graph [label={_q(f'{machine.kind}: {machine.title}')}, labelloc=t, fontsize=16, "
        'rankdir=TB, nodesep=0.5, ranksep=0.6, fontname="Helvetica"];',
        '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
        "",
        '  "__start__" [shape=point, width=0.15, label=""];',
    ]
    for state in machine.states:
        step = machine.steps[state]
        if state in machine.end_states:
            attrs = f"shape=doublecircle, style=filled, fillcolor=white, label={_q(state)}"
        else:
            detail = owner_text(step)
            if step.deadline is not None:
                detail += f" · {due_text(step)}"
            fill = OWNER_COLOURS.get(step.owner, "white")
            label = state + "\n" + detail
            attrs = f"label={_q(label)}, fillcolor={_q(fill)}"
        lines.append(f"  {_q(state)} [{attrs}];")
    lines += ["", f'  "__start__" -> {_q(machine.initial)};']
    for edge in machine.edges:
        text = edge.name
        if edge.roles:
            text += f"\n({', '.join(edge.roles)})"
        if edge.conditions:
            text += f"\n[{', '.join(edge.conditions)}]"
        if edge.needs:
            text += f"\nneeds {', '.join(edge.needs)}"
        attrs = f"label={_q(text)}"
        if edge.dynamic:
            attrs += ", style=dashed"
        lines.append(f"  {_q(edge.source)} -> {_q(edge.target)} [{attrs}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- Markdown -------------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def md_begin(kind: str) -> str:
    return f"<!-- BEGIN {GENERATED_BY} --format md --kind {kind} (generated; do not edit by hand) -->"


def md_end(kind: str) -> str:
    return f"<!-- END {GENERATED_BY} {kind} -->"


def render_md(machine: Machine) -> str:
    leaves: dict[str, list[str]] = {state: [] for state in machine.states}
    for edge in machine.edges:
        if edge.name not in leaves[edge.source]:
            leaves[edge.source].append(edge.name)
    ends = ", ".join(f"`{s}`" for s in machine.states if s in machine.end_states)
    out = [
        md_begin(machine.kind),
        "",
        f"Initial state: `{machine.initial}`. End states: {ends}.",
        "",
        "| state | label | who must act | default deadline → what happens | leaves by |",
        "|---|---|---|---|---|",
    ]
    for state in machine.states:
        step = machine.steps[state]
        out.append(
            "| "
            + " | ".join(
                [
                    f"`{state}`",
                    _cell(machine.labels[state]),
                    owner_text(step),
                    due_text(step, code="`"),
                    ", ".join(f"`{name}`" for name in leaves[state]) or "—",
                ]
            )
            + " |"
        )
    out += [
        "",
        "| transition | label | from | to | who acts | needs (`?` optional) | conditions |",
        "|---|---|---|---|---|---|---|",
    ]
    # One row per transition and target set; its sources are listed together.
    rows: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    first: dict[tuple[str, tuple[str, ...]], Edge] = {}
    for edge in machine.edges:
        key = (edge.name, edge.targets)
        sources = rows.setdefault(key, [])
        if edge.source not in sources:
            sources.append(edge.source)
        first.setdefault(key, edge)
    for key in sorted(rows, key=lambda k: (machine.states.index(rows[k][0]), k[0])):
        edge = first[key]
        to = " or ".join(f"`{t}`" for t in edge.targets)
        if edge.dynamic:
            to += " (decided when it runs)"
        out.append(
            "| "
            + " | ".join(
                [
                    f"`{edge.name}`",
                    _cell(edge.label),
                    ", ".join(f"`{s}`" for s in rows[key]),
                    to,
                    ", ".join(edge.roles) or "anyone",
                    ", ".join(edge.needs) or "—",
                    ", ".join(f"`{c}`" for c in edge.conditions) or "—",
                ]
            )
            + " |"
        )
    out += ["", md_end(machine.kind)]
    return "\n".join(out) + "\n"


def render(kind: str, fmt: str) -> str:
    """The graph (``dot``) or tables (``md``) of ``kind``, in English whatever the active language."""
    with translation.override("en"):
        machine = machine_for(kind)
        return render_dot(machine) if fmt == "dot" else render_md(machine)


class Command(BaseCommand):
    help = (
        "Write each ticket kind's state machine as a Graphviz DOT graph (default) or Markdown tables, "
        "generated from the code. Prints to stdout unless --output DIR is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", choices=list(Kind.values), help="Only this kind (default: all four).")
        parser.add_argument("--output", metavar="DIR", help="Write <kind>.dot (or <kind>.md) files into DIR.")
        parser.add_argument("--format", choices=FORMATS, default="dot", help="dot (default) or md.")
        parser.add_argument(
            "--svg",
            action="store_true",
            help="With --output and --format dot, also render <kind>.svg with Graphviz's `dot` if it is installed.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        kinds = [options["kind"]] if options["kind"] else list(Kind.values)
        fmt = options["format"]
        outputs = {kind: render(kind, fmt) for kind in kinds}
        if not options["output"]:
            self.stdout.write("\n".join(outputs.values()), ending="")
            return
        directory = Path(options["output"])
        directory.mkdir(parents=True, exist_ok=True)
        for kind, text in outputs.items():
            path = directory / f"{kind}.{fmt}"
            path.write_text(text, encoding="utf-8")
            self.stdout.write(f"wrote {path}")
        if options["svg"] and fmt == "dot":
            self._render_svgs(directory, kinds)

    def _render_svgs(self, directory: Path, kinds: list[str]) -> None:
        dot = shutil.which("dot")
        if dot is None:
            self.stderr.write("Graphviz `dot` is not installed (apt-get install graphviz); SVGs not rendered.")
            return
        for kind in kinds:
            source, svg = directory / f"{kind}.dot", directory / f"{kind}.svg"
            subprocess.run([dot, "-Tsvg", str(source), "-o", str(svg)], check=True)  # noqa: S603
            self.stdout.write(f"wrote {svg}")
