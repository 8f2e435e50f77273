"""CSV and XLSX exports of the service figures page: the period's figures, and its handled tickets one a row.

Both are streamed: the tickets are read with ``iterator(chunk_size=…)`` (never the whole period in memory) and
the response is a ``StreamingHttpResponse`` (CSV written row by row as it is sent) or a ``FileResponse`` (the
workbook is written by openpyxl in write-only mode to a temporary file, which is then sent in blocks and
deleted). Headers are in the user's language.

Excel-safe: the CSV starts with a UTF-8 byte order mark (Excel in Chinese otherwise reads it as GBK), and a text
cell starting with ``= + - @`` (or a tab or carriage return) is prefixed with ``'`` so that a buyer's comment or a
name never runs as a formula (CSV injection), in both formats (openpyxl too takes a string starting with "=" for a
formula).
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db.models import OuterRef, Subquery
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook  # type: ignore[import-untyped]  # no stubs pinned

from dashboard.figures import Figures, QualityFigures, handled_tickets, jit_off
from dashboard.periods import Period
from kefu.core.vocabulary import Kind, state_label
from routing.models import Department
from tickets.actors import ActorKind
from tickets.models import EventType, TicketEvent

CHUNK = 2000
BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def cell_safe(value: Any) -> Any:
    """A value as a spreadsheet should hold it: text that would start a formula is prefixed with ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _local(value: Any) -> str:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}" if value else ""


# -- the figures -------------------------------------------------------------------------------------------


def figures_header() -> list[str]:
    return [
        _("Scope"),
        _("Name"),
        _("Handled"),
        _("Average first response (minutes)"),
        _("Responded"),
        _("Average resolution time (hours)"),
        _("SLA breached"),
        _("SLA breach rate (%)"),
        _("Reopened"),
        _("Reopen rate (%)"),
        _("Average satisfaction"),
        _("Satisfaction answers"),
    ]


def _figures_row(scope: str, f: Figures) -> list[Any]:
    return [
        scope,
        f.label,
        f.handled,
        _minutes(f.first_response_seconds),
        f.responded,
        _hours(f.resolution_seconds),
        f.breached,
        _round(f.breach_percent, 1),
        f.reopened,
        _round(f.reopen_percent, 1),
        _round(f.score_avg),
        f.score_count,
    ]


def figures_rows(figures: QualityFigures) -> Iterator[list[Any]]:
    yield _figures_row(_("Total"), Figures(**{**figures.total.__dict__, "label": _("All tickets")}))
    for f in figures.by_department:
        yield _figures_row(_("Department"), f)
    for f in figures.by_agent:
        yield _figures_row(_("Agent"), f)


# -- the tickets -------------------------------------------------------------------------------------------


def tickets_header() -> list[str]:
    return [
        _("Ticket"),
        _("Kind"),
        _("State"),
        _("Shop"),
        _("Department"),
        _("Agent"),
        _("Opened at"),
        _("First response at"),
        _("Ended at"),
        _("First response (minutes)"),
        _("Resolution time (hours)"),
        _("SLA breached"),
        _("Reopened"),
        _("Satisfaction score"),
        _("Satisfaction comment"),
    ]


def tickets_rows(period: Period) -> Iterator[list[Any]]:
    """One row per handled ticket of the period, read ``CHUNK`` at a time (three small queries first: names)."""
    agent_name = (
        TicketEvent.objects.filter(
            ticket_id=OuterRef("pk"),
            event_type=EventType.TRANSITION,
            actor_kind=ActorKind.STAFF,
            actor_user__isnull=False,
        )
        .order_by("-created_at", "-pk")
        .values("actor_user__username")[:1]
    )
    departments = dict(Department.objects.values_list("code", "name"))
    yes, no = _("yes"), _("no")
    rows = (
        handled_tickets(since=period.since, until=period.until)
        .annotate(agent_username=Subquery(agent_name))
        .order_by("closed_at", "pk")
        .values_list(
            "number",
            "kind",
            "state",
            "shop__name",
            "team",
            "agent_username",
            "created_at",
            "first_response_at",
            "closed_at",
            "breached_event",
            "reopened_event",
            "score",
            "satisfaction__comment",
        )
    )
    with jit_off():
        for (
            number,
            kind,
            state,
            shop,
            team,
            agent,
            created,
            first,
            closed,
            breached,
            reopened,
            score,
            comment,
        ) in rows.iterator(chunk_size=CHUNK):
            yield [
                number,
                str(Kind(kind).label),
                state_label(kind, state),
                shop,
                departments.get(team, team or ""),
                agent or "",
                _local(created),
                _local(first),
                _local(closed),
                _minutes((first - created).total_seconds()) if first else None,
                _hours((closed - created).total_seconds()) if closed else None,
                yes if breached else no,
                yes if reopened else no,
                score,
                comment or "",
            ]


# -- writing -----------------------------------------------------------------------------------------------


class _Echo:
    """A file-like object whose ``write`` returns what it was given (csv.writer writes one line at a time)."""

    def write(self, value: str) -> str:
        return value


def csv_stream(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow([cell_safe(h) for h in header])
    for row in rows:
        yield writer.writerow(["" if v is None else cell_safe(v) for v in row])


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_stream(header, rows), content_type=CSV_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def xlsx_response(filename: str, title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> FileResponse:
    """The workbook written row by row (openpyxl write-only) to a temporary file, sent as a stream."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append([cell_safe(h) for h in header])
    for row in rows:
        sheet.append([cell_safe(v) for v in row])
    spool = tempfile.TemporaryFile()  # noqa: SIM115  (FileResponse closes it once sent)
    workbook.save(spool)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=f"{filename}.xlsx", content_type=XLSX_TYPE)


def export_filename(what: str, period: Period) -> str:
    return f"kefu-{what}-{period.first:%Y%m%d}-{period.last:%Y%m%d}"
