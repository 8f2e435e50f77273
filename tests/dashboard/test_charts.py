"""The server-drawn charts' geometry: bars in proportion, inside their box, axes on round numbers."""

from __future__ import annotations

import pytest
from django.utils import translation

from dashboard.charts import HALF, HBAR_VALUE, WIDE, Part, Row, column_chart, duration_text, hbar_chart, shorten


def test_bars_are_in_proportion_and_inside_the_chart() -> None:
    chart = hbar_chart(
        [
            Row("a", [Part("overdue", 1, ""), Part("ontime", 3, "")], "4"),
            Row("b", [Part("overdue", 0, ""), Part("ontime", 2, "")], "2"),
        ]
    )
    assert (chart.width, chart.bar_left) == (HALF, 210)
    a, b = chart.rows
    assert [s.series for s in a.segments] == ["overdue", "ontime"]
    assert [s.series for s in b.segments] == ["ontime"]  # a zero is not drawn
    bar = HALF - 210 - HBAR_VALUE
    assert a.segments[0].width == pytest.approx(bar / 4, abs=0.1)
    assert a.segments[1].x == pytest.approx(210 + bar / 4, abs=0.1)
    assert a.segments[1].x + a.segments[1].width == pytest.approx(210 + bar, abs=0.1)  # the largest fills the bar
    assert b.segments[0].width == pytest.approx(bar / 2, abs=0.1)
    assert a.value_x <= chart.width - HBAR_VALUE + 6
    assert b.segments[0].y > a.segments[0].y and chart.height > b.segments[0].y + b.segments[0].height


def test_a_fixed_scale_and_its_grid() -> None:
    chart = hbar_chart([Row("x", [Part("good", 50, "")], "50 %")], scale_max=100, grid=(0, 50, 100), width=WIDE)
    bar = WIDE - 210 - HBAR_VALUE
    assert chart.width == WIDE
    assert chart.rows[0].segments[0].width == pytest.approx(bar / 2, abs=0.1)
    assert [x for x, _ in chart.grid] == pytest.approx([210, 210 + bar / 2, 210 + bar], abs=0.1)


def test_a_tiny_value_is_still_a_visible_bar() -> None:
    chart = hbar_chart([Row("big", [Part("time", 1_000_000, "")], ""), Row("small", [Part("time", 1, "")], "")])
    assert chart.rows[1].segments[0].width >= 1.5


def test_no_rows_is_an_empty_chart() -> None:
    assert hbar_chart([]).empty


@pytest.mark.parametrize(
    ("largest", "ticks"),
    [(1, [0, 1]), (5, [0, 2, 4, 6]), (8, [0, 2, 4, 6, 8]), (37, [0, 10, 20, 30, 40]), (5400, [0, 2000, 4000, 6000])],
)
def test_columns_stand_on_an_axis_of_round_steps(largest, ticks) -> None:
    chart = column_chart([("d1", [Part("return", largest, "")]), ("d2", [Part("return", 0, "")])], legend=[])
    assert [value for _, value in chart.ticks] == ticks
    top_y = chart.ticks[-1][0]
    column = chart.columns[0].segments[0]
    assert column.y + column.height == pytest.approx(chart.baseline, abs=0.2)
    assert column.height == pytest.approx((chart.baseline - top_y) * largest / ticks[-1], abs=0.2)
    assert chart.columns[1].segments == [] and chart.columns[1].values == [0]


def test_stacked_columns_and_their_labels() -> None:
    columns = [(f"d{i}", [Part("return", i, ""), Part("exchange", 1, "")]) for i in range(12)]
    chart = column_chart(columns, legend=[("return", "R"), ("exchange", "E")], label_every=5)
    shown = [c.label for c in chart.columns if c.show_label]
    assert shown == ["d0", "d5", "d10", "d11"]  # every fifth, and the last
    last = chart.columns[-1]
    assert last.total == 12 and last.values == [11, 1]
    ret, exc = last.segments
    assert exc.y + exc.height == pytest.approx(ret.y, abs=0.2)  # stacked on top of each other
    assert all(c.segments[0].x + c.segments[0].width <= chart.width for c in chart.columns)


def test_shorten_counts_wide_characters_twice() -> None:
    assert shorten("abcdef", 6) == "abcdef"
    assert shorten("abcdefgh", 6) == "abcde…"  # the ellipsis takes the sixth place
    assert shorten("退货退款已签收", 6) == "退货…"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 min"),
        (45 * 60, "45 min"),
        (3600, "1 h"),
        (5 * 3600 + 20 * 60, "5 h 20 min"),
        (86400, "1 d"),
        (3 * 86400 + 4 * 3600 + 59, "3 d 4 h"),
    ],
)
def test_duration_text(seconds, text) -> None:
    with translation.override("en"):
        assert duration_text(seconds) == text
