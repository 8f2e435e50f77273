"""Reading a payment provider's refund statement: Alipay's 业务明细 (CSV in GBK, "#" comment lines around the
table) and WeChat Pay's 退款账单 (CSV whose fields carry a leading backtick), or either saved as XLSX.

A statement becomes ``StatementRefund`` rows keyed by our idempotency key (Alipay 退款批次号/请求号 =
``out_request_no``, WeChat Pay 商户退款单号 = ``out_refund_no``). Only refunds the provider says it paid count
(Alipay 业务类型 退款; WeChat Pay 退款状态 SUCCESS). A file that cannot be read raises ``StatementInvalid`` naming
the line and the column (lines count from 1, as a spreadsheet or an editor shows them).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Context, Decimal, InvalidOperation

from django.utils.translation import gettext as _

from kefu.core.errors import ValidationFailed

ALIPAY, WECHATPAY = "alipay", "wechatpay"
MAX_BYTES = 20 * 1024 * 1024


class StatementInvalid(ValidationFailed):
    code = "statement_invalid"


@dataclass(frozen=True)
class Layout:
    """Where a provider's statement keeps what reconciliation needs (header names as the provider writes them)."""

    provider: str
    key: str
    order: str
    amounts: tuple[str, ...]  # the first present is the refund's amount
    reference: str
    when: tuple[str, ...]  # the first present dates the refund
    paid_column: str  # the column saying it is a paid refund, and the value meaning so
    paid_value: str


ALIPAY_LAYOUT = Layout(
    ALIPAY,
    "退款批次号/请求号",
    "商户订单号",
    ("订单金额（元）", "金额", "商家实收（元）"),
    "支付宝交易号",
    ("完成时间",),
    "业务类型",
    "退款",
)
WECHATPAY_LAYOUT = Layout(
    WECHATPAY,
    "商户退款单号",
    "商户订单号",
    ("退款金额", "申请退款金额"),
    "微信退款单号",
    ("退款成功时间", "退款申请时间", "交易时间"),
    "退款状态",
    "SUCCESS",
)
LAYOUTS = (ALIPAY_LAYOUT, WECHATPAY_LAYOUT)


@dataclass(frozen=True)
class StatementRefund:
    key: str
    order_number: str
    amount: Decimal
    reference: str
    day: date | None
    line: int


@dataclass(frozen=True)
class Statement:
    provider: str
    refunds: list[StatementRefund]
    # The days the statement covers, [first, day after the last): as its header says (Alipay) or its rows show.
    period: tuple[date, date] | None


def statement_read(*, name: str, content: bytes) -> Statement:
    """Parse an uploaded statement (``name`` decides CSV or XLSX)."""
    if len(content) > MAX_BYTES:
        raise StatementInvalid(_("The statement is larger than 20 MB."), field="file")
    if not content.strip():
        raise StatementInvalid(_("The statement file is empty."), field="file")
    if name.lower().endswith(".xlsx"):
        return _statement(_xlsx_lines(content), stated=None)
    text = _decode(content)
    return _statement(_csv_lines(text), stated=_alipay_period(text))


def _decode(content: bytes) -> str:
    # WeChat Pay writes UTF-8 (often with a BOM); Alipay's downloads are GBK (GB18030 reads both and more).
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return content.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise StatementInvalid(
                _("The statement is neither UTF-8 nor GBK text (byte %(at)s).") % {"at": exc.start}, field="file"
            ) from exc


def _csv_lines(text: str) -> list[tuple[int, list[str]]]:
    return [(number, row) for number, row in enumerate(csv.reader(io.StringIO(text)), start=1)]


def _xlsx_lines(content: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook  # type: ignore[import-untyped]  # no stubs pinned

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, XML and KeyError errors alike for a file that is no workbook
        raise StatementInvalid(_("The file is not an XLSX workbook."), field="file") from exc
    sheet = workbook.worksheets[0]
    lines = []
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        lines.append((number, ["" if value is None else _cell_text(value) for value in values]))
    workbook.close()
    return lines


def _cell_text(value: object) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _clean(cell: str) -> str:
    # WeChat Pay prefixes every field with a backtick (so spreadsheets keep long numbers as text); Alipay pads
    # fields with tabs.
    return cell.strip().lstrip("`").strip()


def _statement(lines: list[tuple[int, list[str]]], *, stated: tuple[date, date] | None) -> Statement:
    header_at, layout, columns = _header(lines)
    refunds: list[StatementRefund] = []
    for number, raw in lines[header_at + 1 :]:
        cells = [_clean(cell) for cell in raw]
        if not any(cells):
            continue
        if cells[0].startswith("#") or cells[0] == "总交易单数":  # the totals after the table
            break
        if len(cells) < len(columns):
            raise StatementInvalid(
                _("Line %(line)s has %(found)s columns; the header has %(expected)s.")
                % {"line": number, "found": len(cells), "expected": len(columns)},
                field="file",
            )
        row = dict(zip(columns, cells, strict=False))
        if row.get(layout.paid_column, layout.paid_value) != layout.paid_value:
            continue
        refunds.append(_refund(row, layout, number))
    days = [refund.day for refund in refunds if refund.day is not None]
    period = stated or ((min(days), max(days) + timedelta(days=1)) if days else None)
    return Statement(provider=layout.provider, refunds=refunds, period=period)


def _header(lines: list[tuple[int, list[str]]]) -> tuple[int, Layout, list[str]]:
    for index, (_number, raw) in enumerate(lines[:50]):
        cells = [_clean(cell) for cell in raw]
        if cells and cells[0].startswith("#"):
            continue
        for layout in LAYOUTS:
            if layout.key in cells:
                missing = [name for name in (layout.order,) if name not in cells]
                if not any(name in cells for name in layout.amounts):
                    missing.append(layout.amounts[0])
                if missing:
                    raise StatementInvalid(
                        _("The header on line %(line)s has no column %(column)s.")
                        % {"line": lines[index][0], "column": ", ".join(missing)},
                        field="file",
                    )
                return index, layout, cells
    raise StatementInvalid(
        _("No header row with 退款批次号/请求号 (Alipay) or 商户退款单号 (WeChat Pay) in the first 50 lines."),
        field="file",
    )


def _refund(row: dict[str, str], layout: Layout, line: int) -> StatementRefund:
    key = row.get(layout.key, "")
    if not key:
        raise StatementInvalid(
            _("Line %(line)s, column %(column)s: the refund has no number.") % {"line": line, "column": layout.key},
            field="file",
        )
    amount_column = next(name for name in layout.amounts if name in row)
    try:
        # A context of its own: whatever the thread's context traps, a text that is no number must raise here.
        amount = abs(Context(traps=[InvalidOperation]).create_decimal(row[amount_column].replace(",", "")))
        if not amount.is_finite():
            raise InvalidOperation(row[amount_column])
    except InvalidOperation as exc:
        raise StatementInvalid(
            _("Line %(line)s, column %(column)s: “%(value)s” is not an amount.")
            % {"line": line, "column": amount_column, "value": row[amount_column]},
            field="file",
        ) from exc
    return StatementRefund(
        key=key,
        order_number=row.get(layout.order, ""),
        amount=amount.quantize(Decimal("0.01")),
        reference=row.get(layout.reference, ""),
        day=next((day for name in layout.when if (day := _day(row.get(name, ""))) is not None), None),
        line=line,
    )


def _day(text: str) -> date | None:
    match = re.match(r"(\d{4})-(\d{2})-(\d{2})", text)
    return date(int(match[1]), int(match[2]), int(match[3])) if match else None


def _alipay_period(text: str) -> tuple[date, date] | None:
    """Alipay's header says the period: #起始日期：[2026年03月01日 00:00:00]   终止日期：[2026年03月02日 00:00:00]."""
    found = re.findall(r"(\d{4})年(\d{2})月(\d{2})日", "".join(text.splitlines()[:6]))
    if len(found) < 2:
        return None
    start, end = (date(int(y), int(m), int(d)) for y, m, d in found[:2])
    return start, max(end, start + timedelta(days=1))  # the end is 00:00:00 of the day after the last
