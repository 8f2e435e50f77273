"""Bar charts drawn on the server as inline SVG: the geometry is computed here, the markup is in
``dashboard/charts/*.html``. No JavaScript and nothing fetched from elsewhere; the page prints, and a
screenshot or a screen reader (each bar has a <title>, each chart a table) sees the same figures.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

# Sizes in SVG user units, drawn one unit to a CSS pixel (shrunk to fit narrower screens): a half-width panel
# of the page at 1400 px holds 600, a full-width one 1240.
HALF = 600
WIDE = 1240

# Horizontal bars: [label | bar ........ | value].
HBAR_LABEL = 210
HBAR_VALUE = 130
HBAR_ROW = 24
HBAR_BAR = 16
HBAR_PAD = 6

# Vertical columns (volume per day).
COLUMN_HEIGHT = 240
COLUMN_LEFT = 40
COLUMN_BOTTOM = 24
COLUMN_TOP = 10


@dataclass(frozen=True)
class Part:
    """One value of a bar: its series (the colour), how much, and the tooltip."""

    series: str
    value: float
    title: str


@dataclass(frozen=True)
class Row:
    label: str
    parts: Sequence[Part]
    value_text: str
    href: str | None = None


@dataclass(frozen=True)
class Segment:
    series: str
    x: float
    y: float
    width: float
    height: float
    value: float
    title: str

    def __post_init__(self) -> None:
        # Tenths of a unit are finer than a pixel at any size the page shows; they keep the markup short.
        for name in ("x", "y", "width", "height"):
            object.__setattr__(self, name, round(getattr(self, name), 1))


@dataclass(frozen=True)
class DrawnRow:
    label: str
    short_label: str
    value_text: str
    href: str | None
    label_y: float
    value_x: float
    segments: list[Segment]
    total: float


@dataclass(frozen=True)
class HBarChart:
    rows: list[DrawnRow]
    width: int
    height: int
    bar_left: int
    bar_width: int
    legend: list[tuple[str, str]] = field(default_factory=list)
    grid: list[tuple[float, str]] = field(default_factory=list)  # (x, label) of the vertical grid lines

    @property
    def empty(self) -> bool:
        return not self.rows


def shorten(text: str, units: int) -> str:
    """``text`` cut to ``units`` half-width characters (East Asian wide characters count two), with "…"."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if used > units:
            return text[: max(index - 1, 0)] + "…"
    return text


def hbar_chart(
    rows: Sequence[Row],
    *,
    scale_max: float | None = None,
    legend: Sequence[tuple[str, str]] = (),
    grid: Sequence[float] = (),
    grid_format: str = "{:g}",
    width: int = HALF,
    label_width: int = HBAR_LABEL,
) -> HBarChart:
    """Horizontal (stacked) bars, one row each, on a scale from 0 to ``scale_max`` (default: the largest row)."""
    bar_width = width - label_width - HBAR_VALUE
    largest = max((sum(p.value for p in row.parts) for row in rows), default=0)
    top = scale_max if scale_max is not None else largest
    unit = bar_width / top if top else 0
    drawn = []
    for index, row in enumerate(rows):
        y = HBAR_PAD + index * HBAR_ROW
        x = float(label_width)
        segments = []
        for part in row.parts:
            length = part.value * unit
            if part.value > 0:
                # At least a hairline, so a small non-zero value is visible (and testable) as a bar.
                segments.append(Segment(part.series, x, y, max(length, 1.5), HBAR_BAR, part.value, part.title))
            x += length
        total = sum(p.value for p in row.parts)
        drawn.append(
            DrawnRow(
                label=row.label,
                # 12 px text: about 6.5 px per half-width character.
                short_label=shorten(row.label, int((label_width - 10) / 6.5)),
                value_text=row.value_text,
                href=row.href,
                label_y=y + HBAR_BAR - 4,
                value_x=round(max(x, label_width) + 6, 1),
                segments=segments,
                total=total,
            )
        )
    grid_lines = [(round(label_width + g * unit, 1), grid_format.format(g)) for g in grid if top and g <= top]
    height = 2 * HBAR_PAD + max(len(rows), 1) * HBAR_ROW + (14 if grid_lines else 0)
    return HBarChart(drawn, width, height, label_width, bar_width, list(legend), grid_lines)


@dataclass(frozen=True)
class Column:
    label: str
    show_label: bool
    label_x: float
    total: int
    values: list[int]  # one per part, zeros included (the table beside the chart)
    segments: list[Segment]


@dataclass(frozen=True)
class ColumnChart:
    columns: list[Column]
    width: int
    height: int
    left: int
    baseline: float
    ticks: list[tuple[float, int]]  # (y, value) of the horizontal grid lines
    legend: list[tuple[str, str]]

    @property
    def empty(self) -> bool:
        return not any(c.total for c in self.columns)


def nice_step(value: float) -> int:
    """The smallest of 1, 2, 5 × 10ⁿ at or above ``value`` (at least 1): a round step for an axis."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return int(step * power)
    return int(10 * power)


def column_chart(
    columns: Sequence[tuple[str, Sequence[Part]]],
    *,
    legend: Sequence[tuple[str, str]],
    label_every: int = 5,
    width: int = WIDE,
) -> ColumnChart:
    """Vertical stacked columns (e.g. one per day, a part per kind), on a y axis of round steps (at most 5)."""
    plot_width = width - COLUMN_LEFT - 6
    plot_height = COLUMN_HEIGHT - COLUMN_TOP - COLUMN_BOTTOM
    baseline = float(COLUMN_TOP + plot_height)
    totals = [sum(p.value for p in parts) for _, parts in columns]
    largest = max(totals, default=0)
    step = nice_step(largest / 4)
    top = step * max(math.ceil(largest / step), 1)
    slot = plot_width / max(len(columns), 1)
    column_width = max(slot * 0.75, 1.0)
    drawn = []
    for index, (label, parts) in enumerate(columns):
        x = COLUMN_LEFT + index * slot + (slot - column_width) / 2
        y = baseline
        segments = []
        for part in parts:
            height = part.value / top * plot_height
            if part.value > 0:
                y -= height
                segments.append(Segment(part.series, x, y, column_width, max(height, 1.0), part.value, part.title))
        last = index == len(columns) - 1
        drawn.append(
            Column(
                label=label,
                show_label=index % label_every == 0 or last,
                label_x=round(x + column_width / 2, 1),
                total=int(totals[index]),
                values=[int(p.value) for p in parts],
                segments=segments,
            )
        )
    ticks = [(round(baseline - plot_height * value / top, 1), value) for value in range(0, top + 1, step)]
    return ColumnChart(drawn, width, COLUMN_HEIGHT, COLUMN_LEFT, baseline, ticks, list(legend))


def duration_text(seconds: int) -> str:
    """A step's length the way people say it: "45 min", "5 h 20 min", "3 d 4 h"."""
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("%(minutes)d min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        if not minutes:
            return _("%(hours)d h") % {"hours": hours}
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    days, hours = divmod(hours, 24)
    if not hours:
        return _("%(days)d d") % {"days": days}
    return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
