"""The surge planner (``/admin/dashboard/surge-plan/``): a form-driven plan played by surge.simulation with the real
routing and deadlines, drawn as charts (dashboard.charts): backlog per department and hour, breaches per hour, the
staff needed. Supervisors only, like the dashboard. Reads routing's configuration; writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from dashboard.access import may_view_dashboard
from dashboard.charts import WIDE, ColumnChart, Part, column_chart
from dashboard.surge_form import SurgePlanForm
from surge.simulation.desk import departments_known
from surge.simulation.engine import Outcome
from surge.simulation.plan import PlanError, hour_start, plan_from_mapping
from surge.simulation.run import Simulation, plan_simulate

SERIES = 6  # colours of departments (kefu-bar--dept0 … dept5), repeated past that


@dataclass(frozen=True)
class StaffRow:
    hour: str
    cells: list[tuple[int, int]]  # (planned, needed) per department


@dataclass(frozen=True)
class SurgePage:
    sim: Simulation
    departments: list[tuple[str, str, str]]  # (code, name, series)
    backlog: ColumnChart
    breaches: ColumnChart
    extra: ColumnChart
    staff_rows: list[StaffRow]
    breaches_during: int
    breaches_after: int
    extra_staff_hours: int
    needed_breaches: int


def _hour_label(sim: Simulation, hour: int) -> str:
    moment = hour_start(sim.plan, hour)
    return moment.strftime("%H") if sim.plan.hours <= 24 else moment.strftime("%d %H")


def _per_department_chart(
    sim: Simulation, departments: list[tuple[str, str, str]], values: dict[str, list[int]], unit: str
) -> ColumnChart:
    columns = []
    for hour in range(sim.plan.hours):
        label = _hour_label(sim, hour)
        parts = [
            Part(series, values[code][hour], f"{name} {hour_start(sim.plan, hour):%H:00}: {values[code][hour]} {unit}")
            for code, name, series in departments
        ]
        columns.append((label, parts))
    legend = [(series, name) for _code, name, series in departments]
    return column_chart(columns, legend=legend, label_every=3 if sim.plan.hours <= 24 else 12, width=WIDE)


def surge_page_build(sim: Simulation, names: dict[str, str]) -> SurgePage:
    outcome: Outcome = sim.outcome
    codes = outcome.departments
    departments = [(code, names.get(code, code), f"dept{i % SERIES}") for i, code in enumerate(codes)]
    hours = sim.plan.hours
    planned = {code: list(sim.plan.staff.get(code, [0] * hours)) for code in codes}
    extra = {code: [max(0, n - p) for n, p in zip(sim.needed[code], planned[code], strict=True)] for code in codes}
    backlog = {code: outcome.backlog[code][:hours] for code in codes}
    breaches = {code: outcome.breaches[code][:hours] for code in codes}
    return SurgePage(
        sim=sim,
        departments=departments,
        backlog=_per_department_chart(sim, departments, backlog, _("tickets held")),
        breaches=_per_department_chart(sim, departments, breaches, _("breaches")),
        extra=_per_department_chart(sim, departments, extra, _("more people")),
        staff_rows=[
            StaffRow(
                hour_start(sim.plan, h).strftime("%m-%d %H:00"),
                [(planned[code][h], sim.needed[code][h]) for code in codes],
            )
            for h in range(hours)
        ],
        breaches_during=outcome.total_breaches - outcome.breaches_after,
        breaches_after=outcome.breaches_after,
        extra_staff_hours=sum(sum(v) for v in extra.values()),
        needed_breaches=sim.needed_outcome.total_breaches,
    )


def surge_plan_view(request: HttpRequest) -> HttpResponse:
    """The form; with ``?simulate=1`` (the form's button) the plan is played and the charts drawn. 403 for staff
    who are not supervisors."""
    if not may_view_dashboard(request.user):
        raise PermissionDenied
    names = departments_known()
    page = None
    error = ""
    if "simulate" in request.GET:
        form = SurgePlanForm(request.GET, departments=names)
        if form.is_valid():
            try:
                page = surge_page_build(plan_simulate(plan_from_mapping(form.plan_mapping())), names)
            except PlanError as exc:
                error = str(exc)
    else:
        form = SurgePlanForm(departments=names)
    context = {
        **admin.site.each_context(request),
        "is_nav_sidebar_enabled": False,
        "title": _("Surge planning"),
        "form": form,
        "page": page,
        "error": error,
    }
    return TemplateResponse(request, "dashboard/surge_plan.html", context)
