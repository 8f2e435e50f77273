"""The exports of the service figures page: CSV (Excel-safe) and XLSX (read back with openpyxl), streamed, with
translated headers, on the hand-built desk of tests/quality/desk.py."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.quality.desk import figures_desk, staff

pytestmark = pytest.mark.django_db

URL = "/admin/dashboard/quality/export/{what}/{fmt}/?preset=7"


@pytest.fixture
def boss_client(client):
    client.force_login(staff("boss", "supervisors"))
    return client


def download(client, what: str, fmt: str):
    response = client.get(URL.format(what=what, fmt=fmt), headers={"accept-language": "zh-hans"})
    assert response.status_code == 200
    assert response.streaming
    assert "attachment" in response["Content-Disposition"]
    return response, b"".join(response.streaming_content)


def test_tickets_csv_has_a_bom_chinese_headers_and_no_formula(boss_client) -> None:
    desk = figures_desk()
    response, body = download(boss_client, "tickets", "csv")
    assert response["Content-Type"].startswith("text/csv")
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    header, data = rows[0], rows[1:]
    assert header[:6] == ["售后单", "类型", "状态", "店铺", "部门", "客服"]
    by_number = {row[0]: dict(zip(header, row, strict=True)) for row in data}
    assert set(by_number) == {desk.tickets[k].number for k in ("t1", "t2", "t3", "t4")}
    t2 = by_number[desk.tickets["t2"].number]
    assert (t2["客服"], t2["首次响应（分钟）"], t2["解决时长（小时）"]) == ("li", "120.0", "20.0")
    assert (t2["满意度评分"], t2["已超时（SLA）"], t2["已重开"]) == ("1", "是", "是")
    assert t2["满意度留言"] == "'=1+1"  # the buyer's "=1+1" cannot run as a formula


def test_tickets_xlsx_reads_back_with_openpyxl(boss_client) -> None:
    desk = figures_desk()
    response, body = download(boss_client, "tickets", "xlsx")
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(body), read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = rows[0]
    assert header[0] == "售后单" and "满意度留言" in header
    data = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    t1 = data[desk.tickets["t1"].number]
    assert (t1["客服"], t1["首次响应（分钟）"], t1["解决时长（小时）"], t1["满意度评分"]) == ("li", 30, 10, 5)
    assert data[desk.tickets["t2"].number]["满意度留言"] == "'=1+1"
    assert len(data) == 4


def test_figures_csv_and_xlsx_hold_the_totals_departments_and_agents(boss_client) -> None:
    figures_desk()
    _, body = download(boss_client, "figures", "csv")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    header = rows[0]
    assert header[:3] == ["范围", "名称", "已处理"]
    table = {(r[0], r[1]): dict(zip(header, r, strict=True)) for r in rows[1:]}
    total = table[("合计", "全部售后单")]
    assert (total["已处理"], total["平均首次响应（分钟）"], total["SLA 超时率（%）"], total["平均满意度"]) == (
        "4",
        "130.0",
        "25.0",
        "3.0",
    )
    assert table[("客服", "li")]["重开率（%）"] == "50.0"
    assert table[("客服", "wang")]["平均解决时长（小时）"] == "30.0"

    _, body = download(boss_client, "figures", "xlsx")
    sheet = load_workbook(io.BytesIO(body), read_only=True).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0][:3] == ["范围", "名称", "已处理"]
    assert ["合计", "全部售后单", 4] == values[1][:3]


def test_an_unknown_export_is_404(boss_client) -> None:
    assert boss_client.get("/admin/dashboard/quality/export/orders/csv/").status_code == 404
    assert boss_client.get("/admin/dashboard/quality/export/tickets/pdf/").status_code == 404


def test_a_large_export_reads_the_tickets_in_chunks(boss_client, monkeypatch, django_assert_max_num_queries) -> None:
    """The ticket rows come from a server-side iterator (chunk_size), not a list of the whole period."""
    from dashboard import exports

    figures_desk()
    chunks = []
    real = exports.handled_tickets

    def spy(**kwargs):
        qs = real(**kwargs)
        original = qs.__class__.iterator

        def iterator(self, chunk_size=None):
            chunks.append(chunk_size)
            return original(self, chunk_size=chunk_size)

        monkeypatch.setattr(qs.__class__, "iterator", iterator)
        return qs

    monkeypatch.setattr(exports, "handled_tickets", spy)
    with django_assert_max_num_queries(12):
        download(boss_client, "tickets", "csv")
    assert chunks == [exports.CHUNK]
