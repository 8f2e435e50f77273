"""The dashboard page's panels: the selectors' figures turned into labelled charts and tables.

Labels come from the code's choices (kinds, states) and the departments' names; every figure shown in a
chart is also in a table beside it. Links open the ticket list with the matching filters.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _

from dashboard import selectors
from dashboard.charts import WIDE, ColumnChart, HBarChart, Part, Row, column_chart, duration_text, hbar_chart
from kefu.core.vocabulary import all_state_choices, state_label
from tickets.models import Kind

DepartmentLabel = Callable[[str | None], str]

# SLA met % at or above which a department's bar is green, amber; below: red.
SLA_GOOD = 90.0
SLA_FAIR = 75.0


@dataclass(frozen=True)
class Matrix:
    """Open tickets per state (rows) and department (columns), with totals."""

    columns: list[tuple[str, str]]  # (department code or "", label)
    rows: list[tuple[str, list[int], int]]  # (state label, count per column, total)
    totals: list[int]
    total: int


@dataclass(frozen=True)
class Dashboard:
    days: int
    since: datetime
    until: datetime
    open_total: int
    overdue_total: int
    met_percent: float | None
    steps_ended: int
    open_by_state: HBarChart
    open_by_department: HBarChart
    open_matrix: Matrix
    sla_by_department: HBarChart
    step_times: HBarChart
    volume: ColumnChart
    volume_days: int
    reasons: HBarChart
    reason_rows: list[selectors.ReasonBySku]
    overdue_url: str


def tickets_url(**filters: str) -> str:
    """The admin ticket list with its filters (desk.admin.filters: kind__exact, state, department, overdue)."""
    url = reverse("admin:tickets_ticket_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def dashboard_build(*, days: int, now: datetime) -> Dashboard:
    """Every panel of the page for the last ``days`` days: six queries, whatever the number of tickets."""
    since, until = selectors.period_bounds(days=days, now=now)
    names = selectors.department_names()

    def department_label(code: str | None) -> str:
        return names.get(code, code) if code else _("Buyer's turn (no department)")

    open_rows = selectors.open_tickets(now=now)
    sla = selectors.sla_figures(since=since, until=until)
    volume = selectors.volume_by_day(now=now)
    reasons = selectors.top_reasons_by_sku(since=since, until=until)

    timed = sum(f.met + f.breached for f in sla.by_department)
    met = sum(f.met for f in sla.by_department)
    return Dashboard(
        days=days,
        since=since,
        until=until,
        open_total=sum(r.open for r in open_rows),
        overdue_total=sum(r.overdue for r in open_rows),
        met_percent=round(100 * met / timed, 1) if timed else None,
        steps_ended=sum(f.steps for f in sla.by_state),
        open_by_state=_open_by_state(open_rows),
        open_by_department=_open_by_department(open_rows, department_label),
        open_matrix=_open_matrix(open_rows, department_label),
        sla_by_department=_sla_by_department(sla.by_department, department_label),
        step_times=_step_times(sla.by_state),
        volume=_volume(volume),
        volume_days=len(volume),
        reasons=_reasons(reasons),
        reason_rows=reasons,
        overdue_url=tickets_url(overdue="yes"),
    )


def _open_parts(open_: int, overdue: int) -> list[Part]:
    return [
        Part("overdue", overdue, _("%(count)d overdue") % {"count": overdue}),
        Part("ontime", open_ - overdue, _("%(count)d on time") % {"count": open_ - overdue}),
    ]


def _open_legend() -> list[tuple[str, str]]:
    return [("overdue", _("Overdue")), ("ontime", _("On time"))]


def _open_value(open_: int, overdue: int) -> str:
    if not overdue:
        return str(open_)
    return _("%(open)d (%(overdue)d overdue)") % {"open": open_, "overdue": overdue}


def _open_by_state(rows: list[selectors.OpenCount]) -> HBarChart:
    kinds = dict(Kind.choices)
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        totals[(r.kind, r.state)][0] += r.open
        totals[(r.kind, r.state)][1] += r.overdue
    ordered = sorted(totals.items(), key=lambda item: (-item[1][0], item[0]))
    return hbar_chart(
        [
            Row(
                label=f"{kinds[kind]} · {state_label(kind, state)}",
                parts=_open_parts(open_, overdue),
                value_text=_open_value(open_, overdue),
                href=tickets_url(kind__exact=kind, state=state),
            )
            for (kind, state), (open_, overdue) in ordered
        ],
        legend=_open_legend(),
    )


def _open_by_department(rows: list[selectors.OpenCount], label: DepartmentLabel) -> HBarChart:
    totals: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        totals[r.department][0] += r.open
        totals[r.department][1] += r.overdue
    ordered = sorted(totals.items(), key=lambda item: (item[0] is None, -item[1][0], item[0] or ""))
    return hbar_chart(
        [
            Row(
                label=label(code),
                parts=_open_parts(open_, overdue),
                value_text=_open_value(open_, overdue),
                href=tickets_url(department=code) if code else None,
            )
            for code, (open_, overdue) in ordered
        ],
        legend=_open_legend(),
    )


def _open_matrix(rows: list[selectors.OpenCount], label: DepartmentLabel) -> Matrix:
    kinds = dict(Kind.choices)
    departments = sorted({r.department for r in rows}, key=lambda code: (code is None, code or ""))
    index = {code: i for i, code in enumerate(departments)}
    states: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        states.setdefault((r.kind, r.state), [0] * len(departments))[index[r.department]] += r.open
    matrix_rows = [
        (f"{kinds[kind]} · {state_label(kind, state)}", counts, sum(counts))
        for (kind, state), counts in sorted(states.items(), key=lambda item: (-sum(item[1]), item[0]))
    ]
    totals = [sum(counts[i] for _, counts, _ in matrix_rows) for i in range(len(departments))]
    return Matrix(
        columns=[(code or "", label(code)) for code in departments],
        rows=matrix_rows,
        totals=totals,
        total=sum(totals),
    )


def _sla_by_department(figures: list[selectors.StepFigures], label: DepartmentLabel) -> HBarChart:
    rows = []
    for f in sorted(figures, key=lambda f: (f.met_percent is None, f.met_percent or 0, f.key)):
        percent = f.met_percent
        if percent is None:
            series, text = "none", _("no deadlines")
        else:
            series = "good" if percent >= SLA_GOOD else "fair" if percent >= SLA_FAIR else "poor"
            text = _("%(percent)s %% (%(met)d of %(timed)d)") % {
                "percent": formats.number_format(percent, 1),
                "met": f.met,
                "timed": f.met + f.breached,
            }
        title = _("%(met)d met, %(breached)d breached of %(steps)d steps") % {
            "met": f.met,
            "breached": f.breached,
            "steps": f.steps,
        }
        rows.append(Row(label=label(f.key), parts=[Part(series, percent or 0, title)], value_text=text))
    return hbar_chart(rows, scale_max=100, grid=(0, 50, 100), grid_format="{:g} %")


def _step_times(figures: list[selectors.StepFigures]) -> HBarChart:
    labels = dict(all_state_choices())
    rows = []
    for f in figures:
        title = _("average of %(steps)d steps") % {"steps": f.steps}
        rows.append(
            Row(
                label=str(labels.get(f.key, f.key)),
                parts=[Part("time", f.avg_seconds, title)],
                value_text=duration_text(f.avg_seconds),
            )
        )
    return hbar_chart(rows)


KIND_SERIES = tuple(Kind.values)


def _volume(days: list[selectors.DayVolume]) -> ColumnChart:
    kinds = dict(Kind.choices)
    columns = []
    for day in days:
        label = formats.date_format(day.day, "m-d")
        parts = [Part(kind, day.counts[kind], f"{label} {kinds[kind]}: {day.counts[kind]}") for kind in KIND_SERIES]
        columns.append((label, parts))
    return column_chart(columns, legend=[(kind, str(kinds[kind])) for kind in KIND_SERIES])


def _reasons(rows: list[selectors.ReasonBySku]) -> HBarChart:
    no_reason = _("no reason given")
    return hbar_chart(
        [
            Row(
                label=f"{r.sku} · {r.reason_label or no_reason}",
                parts=[
                    Part("return", r.returns, _("%(count)d returns") % {"count": r.returns}),
                    Part("exchange", r.exchanges, _("%(count)d exchanges") % {"count": r.exchanges}),
                ],
                value_text=str(r.tickets),
            )
            for r in rows
        ],
        legend=[("return", str(Kind.RETURN.label)), ("exchange", str(Kind.EXCHANGE.label))],
        width=WIDE,
        label_width=420,
    )
