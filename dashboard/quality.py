"""The service figures page (``/admin/dashboard/quality/``): per agent and per department, over a date range,
with charts (dashboard.charts) and the exports (dashboard.exports). Supervisors only, like the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from dashboard import exports
from dashboard.access import may_view_dashboard
from dashboard.charts import HALF, HBarChart, Part, Row, duration_text, hbar_chart
from dashboard.figures import Figures, QualityFigures, quality_figures
from dashboard.periods import PRESETS, Period, period_from


def percent_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %"


def score_text(figures: Figures) -> str:
    return "—" if figures.score_avg is None else f"{figures.score_avg:.2f} ({figures.score_count})"


def duration_or_dash(seconds: float | None) -> str:
    return "—" if seconds is None else duration_text(int(seconds))


@dataclass(frozen=True)
class FigureTexts:
    """One row of the figures tables, as shown."""

    key: str
    label: str
    handled: int
    first_response: str
    resolution: str
    breach: str
    reopen: str
    satisfaction: str


def figure_texts(f: Figures) -> FigureTexts:
    return FigureTexts(
        key=f.key,
        label=f.label,
        handled=f.handled,
        first_response=duration_or_dash(f.first_response_seconds),
        resolution=duration_or_dash(f.resolution_seconds),
        breach=percent_text(f.breach_percent),
        reopen=percent_text(f.reopen_percent),
        satisfaction=score_text(f),
    )


@dataclass(frozen=True)
class QualityPage:
    period: Period
    figures: QualityFigures
    satisfaction_by_agent: HBarChart
    first_response_by_agent: HBarChart
    breaches_by_department: HBarChart
    resolution_by_department: HBarChart
    total: FigureTexts
    agent_rows: list[FigureTexts]
    department_rows: list[FigureTexts]


def figures_for(period: Period) -> QualityFigures:
    return quality_figures(
        since=period.since, until=period.until, nobody=_("No agent"), no_department=_("No department")
    )


def quality_page_build(period: Period) -> QualityPage:
    figures = figures_for(period)
    satisfaction = hbar_chart(
        [
            Row(
                f.label,
                [
                    Part(
                        "good" if f.score_avg >= 4 else "fair" if f.score_avg > 2 else "poor",
                        f.score_avg,
                        score_text(f),
                    )
                ],
                score_text(f),
            )
            for f in figures.by_agent
            if f.score_avg is not None
        ],
        scale_max=5,
        grid=(1, 2, 3, 4, 5),
        width=HALF,
    )
    first_response = hbar_chart(
        [
            Row(
                f.label,
                [Part("time", f.first_response_seconds / 3600, duration_or_dash(f.first_response_seconds))],
                duration_or_dash(f.first_response_seconds),
            )
            for f in figures.by_agent
            if f.first_response_seconds is not None
        ],
        width=HALF,
    )
    breaches = hbar_chart(
        [
            Row(
                f.label,
                [Part("poor", f.breach_percent or 0.0, percent_text(f.breach_percent))],
                f"{percent_text(f.breach_percent)} ({f.breached}/{f.handled})",
            )
            for f in figures.by_department
        ],
        scale_max=100,
        grid=(0, 50, 100),
        grid_format="{:g} %",
        width=HALF,
    )
    resolution = hbar_chart(
        [
            Row(
                f.label,
                [Part("time", f.resolution_seconds / 3600, duration_or_dash(f.resolution_seconds))],
                duration_or_dash(f.resolution_seconds),
            )
            for f in figures.by_department
            if f.resolution_seconds is not None
        ],
        width=HALF,
    )
    return QualityPage(
        period,
        figures,
        satisfaction,
        first_response,
        breaches,
        resolution,
        figure_texts(figures.total),
        [figure_texts(f) for f in figures.by_agent],
        [figure_texts(f) for f in figures.by_department],
    )


def quality_view(request: HttpRequest) -> HttpResponse:
    """The figures page; ``?preset=today|7|30`` or ``?from=&to=`` (dashboard.periods). 403 for other staff."""
    if not may_view_dashboard(request.user):
        raise PermissionDenied
    period = period_from(request.GET)
    context = {
        **admin.site.each_context(request),
        "is_nav_sidebar_enabled": False,
        "title": _("Service figures"),
        "page": quality_page_build(period),
        "presets": list(PRESETS),
    }
    return TemplateResponse(request, "dashboard/quality.html", context)


def quality_export_view(request: HttpRequest, what: str, fmt: str) -> StreamingHttpResponse:
    """``what`` is ``figures`` or ``tickets``, ``fmt`` ``csv`` or ``xlsx``; the period as on the page."""
    if not may_view_dashboard(request.user):
        raise PermissionDenied
    if what not in ("figures", "tickets") or fmt not in ("csv", "xlsx"):
        raise Http404
    period = period_from(request.GET)
    if what == "figures":
        header, rows, title = exports.figures_header(), exports.figures_rows(figures_for(period)), _("Figures")
    else:
        header, rows, title = exports.tickets_header(), exports.tickets_rows(period), _("Tickets")
    filename = exports.export_filename(what, period)
    if fmt == "csv":
        return exports.csv_response(filename, header, rows)
    return exports.xlsx_response(filename, title, header, rows)
