"""Reconciling a provider's refund statement with kefu's refunds, on the sample statements of
tests/fixtures/statements/ (Alipay 业务明细 in GBK, WeChat Pay 退款账单 with backticks), as CSV and as XLSX:
every mismatch kind, and bad files refused with the line and column named."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories.tickets import buyer_actor, finance_actor, order_with_line, staff_actor
from tickets.actors import Actor
from tickets.models import Refund
from tickets.payments import PayoutAnswer, PayoutStatus
from tickets.services import refund_execute, return_open, ticket_act
from tickets.services.reconciliation import MismatchKind, statement_reconcile
from tickets.services.refunds import refund_settle
from tickets.statements import StatementInvalid, statement_read
from tickets.types import LineRequest

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "statements"
ALIPAY = FIXTURES / "alipay_business_2026-03-01.csv"
WECHATPAY = FIXTURES / "wechatpay_refund_2026-03-01.csv"
ON_THE_DAY = timezone.make_aware(datetime(2026, 3, 1, 12, 0))
LATER = timezone.make_aware(datetime(2026, 3, 5, 12, 0))


def kefu_refund(key: str, amount: str, *, paid_by: str = "", paid_at: datetime = ON_THE_DAY) -> Refund:
    """A refund kefu holds under ``key``: submitted, or succeeded when ``paid_by`` names its payer."""
    order = order_with_line(quantity=1, paid_amount=Decimal(amount))
    ticket = return_open(
        order=order,
        actor=buyer_actor(order),
        lines=[LineRequest("SKU-A", 1)],
        reason_code="not_received",
        refund_only=True,
    )
    ticket = ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve")
    refund = refund_execute(refund_id=Refund.objects.get(ticket=ticket).pk)
    Refund.objects.filter(pk=refund.pk).update(idempotency_key=key)  # the key the sample statement carries
    if paid_by:
        answer = PayoutAnswer(PayoutStatus.SUCCEEDED, payer=paid_by, reference="X", paid_at=paid_at)
        refund_settle(idempotency_key=key, answer=answer, actor=Actor.system("payment gateway"))
    return Refund.objects.get(pk=refund.pk)


def kefu_side(provider: str, prefix: str) -> None:
    """kefu's refunds against a sample statement: one matching, one with another amount, one still submitted,
    one paid that the statement lacks, one paid on another day (outside the statement), one not yet paid."""
    kefu_refund(f"RT20260301000{prefix}01-R1", "79.00", paid_by=provider)
    kefu_refund(f"RT20260301000{prefix}02-R1", "150.00", paid_by=provider)
    kefu_refund(f"RT20260301000{prefix}03-R1", "39.90")
    kefu_refund(f"RT20260301000{prefix}04-R1", "189.00", paid_by=provider if prefix == "1" else "")
    kefu_refund(f"RT20260301000{prefix}05-R1", "59.00", paid_by=provider, paid_at=LATER)
    kefu_refund(f"RT20260301000{prefix}06-R1", "25.00", paid_by=provider)  # on the day, not on the statement


def as_xlsx(path: Path) -> bytes:
    """The statement saved as a spreadsheet: the same rows, amounts as numbers, no backticks."""
    from openpyxl import Workbook

    text = path.read_bytes().decode("utf-8-sig" if path == WECHATPAY else "gbk")
    workbook = Workbook()
    sheet = workbook.active
    for row in csv.reader(io.StringIO(text)):
        cells: list[object] = []
        for cell in row:
            value = cell.strip().lstrip("`")
            try:
                cells.append(float(value) if "." in value and value.replace(".", "").lstrip("-").isdigit() else value)
            except ValueError:
                cells.append(value)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def read(path: Path, *, xlsx: bool) -> object:
    if xlsx:
        return statement_read(name=path.stem + ".xlsx", content=as_xlsx(path))
    return statement_read(name=path.name, content=path.read_bytes())


@pytest.mark.parametrize("xlsx", [False, True], ids=["csv", "xlsx"])
@pytest.mark.parametrize(("path", "provider", "prefix"), [(ALIPAY, "alipay", "1"), (WECHATPAY, "wechatpay", "2")])
def test_every_mismatch_kind_is_found(path: Path, provider: str, prefix: str, xlsx: bool) -> None:
    kefu_side(provider, prefix)

    statement = read(path, xlsx=xlsx)
    result = statement_reconcile(statement=statement, period=(date(2026, 3, 1), date(2026, 3, 2)))

    assert statement.provider == provider
    assert (result.matched, result.matched_amount) == (1, Decimal("79.00"))
    differs = result.of_kind(MismatchKind.AMOUNT_DIFFERS)
    assert [(m.key, m.statement_amount, m.recorded_amount) for m in differs] == [
        (f"RT20260301000{prefix}02-R1", Decimal("159.00"), Decimal("150.00"))
    ]
    paid_not_recorded = {m.key: m.recorded_status for m in result.of_kind(MismatchKind.PAID_NOT_RECORDED)}
    assert paid_not_recorded == {f"RT20260301000{prefix}03-R1": "submitted", f"RT20260227000{prefix}99-R1": ""}
    recorded_not_paid = [m.key for m in result.of_kind(MismatchKind.RECORDED_NOT_PAID)]
    expected = [f"RT20260301000{prefix}06-R1"]
    if provider == "alipay":  # kefu paid 104 on the day; WeChat Pay's 204 is PROCESSING there and unpaid here
        expected.insert(0, "RT20260301000104-R1")
    assert sorted(recorded_not_paid) == sorted(expected)


def test_the_statement_says_its_period_alipay_in_its_header_wechat_pay_by_its_refund_times() -> None:
    assert read(ALIPAY, xlsx=False).period == (date(2026, 3, 1), date(2026, 3, 2))
    assert read(WECHATPAY, xlsx=False).period == (date(2026, 3, 1), date(2026, 3, 2))
    kefu_side("alipay", "1")
    assert len(statement_reconcile(statement=read(ALIPAY, xlsx=False)).of_kind(MismatchKind.RECORDED_NOT_PAID)) == 2


def test_a_clean_statement_has_no_mismatch() -> None:
    kefu_refund("RT20260301000201-R1", "79.00", paid_by="wechatpay")
    lines = WECHATPAY.read_bytes().decode("utf-8-sig").split("\r\n")
    clean = "\r\n".join([lines[0], lines[1], *lines[-3:]]).encode()  # the header, one row, the totals

    result = statement_reconcile(statement=statement_read(name="refund.csv", content=clean))

    assert (result.matched, result.mismatches) == (1, [])


def alipay_with(line: int, column: str, value: str) -> bytes:
    """The Alipay sample with one cell replaced (line counted from 1)."""
    lines = ALIPAY.read_bytes().decode("gbk").split("\r\n")
    header = [cell.strip() for cell in lines[4].split(",")]
    cells = lines[line - 1].split(",")
    cells[header.index(column)] = value
    lines[line - 1] = ",".join(cells)
    return "\r\n".join(lines).encode("gbk")


@pytest.mark.parametrize(
    ("content", "name", "says"),
    [
        (
            alipay_with(7, "订单金额（元）", "-79.0O"),
            "a.csv",
            "Line 7, column 订单金额（元）: “-79.0O” is not an amount.",
        ),
        (
            alipay_with(8, "退款批次号/请求号", "\t"),
            "a.csv",
            "Line 8, column 退款批次号/请求号: the refund has no number.",
        ),
        ("商户订单号,金额\r\nOWN1,1.00\r\n".encode(), "a.csv", "No header row with 退款批次号/请求号"),
        ("商户退款单号,退款状态,退款金额\r\n`R1,`SUCCESS,`1.00\r\n".encode(), "w.csv", "has no column 商户订单号"),
        (
            "商户订单号,商户退款单号,退款状态,退款金额\r\n`OWN1,`R1,`SUCCESS\r\n".encode(),
            "w.csv",
            "Line 2 has 3 columns; the header has 4.",
        ),
        (b"PK\x03\x04 not really a workbook", "refund.xlsx", "The file is not an XLSX workbook."),
        (b"  \r\n", "empty.csv", "The statement file is empty."),
    ],
    ids=["amount", "key", "no-header", "no-order-column", "short-line", "bad-xlsx", "empty"],
)
def test_a_bad_statement_is_refused_naming_the_line_and_column(content: bytes, name: str, says: str) -> None:
    with pytest.raises(StatementInvalid) as refused:
        statement_read(name=name, content=content)
    assert says in refused.value.message


# -- the command and the admin page -----------------------------------------------------------------------


def test_the_command_prints_the_mismatches_and_fails_when_there_are_some(capsys: pytest.CaptureFixture) -> None:
    kefu_side("alipay", "1")
    with pytest.raises(SystemExit) as ended:
        call_command("reconcile_refunds", str(ALIPAY))
    out = capsys.readouterr().out
    assert ended.value.code == 1
    assert "alipay statement, 2026-03-01 to 2026-03-02 (exclusive): 1 matched (¥79.00), 5 mismatched" in out
    assert "amount_differs     RT20260301000102-R1" in out


def test_finance_uploads_a_statement_in_the_admin_and_others_may_not(client: Client) -> None:
    kefu_side("wechatpay", "2")
    page = reverse("admin:tickets_refundtopay_reconcile")
    client.force_login(finance_actor().user)

    with WECHATPAY.open("rb") as upload:
        answer = client.post(page, {"file": upload}, HTTP_ACCEPT_LANGUAGE="en")

    text = answer.content.decode()
    assert answer.status_code == 200
    assert "1 matched (¥79.00), 4 mismatched." in text
    assert "RT20260227000299-R1" in text and "Recorded but not paid" in text
    bad = client.post(page, {"file": io.BytesIO(b"x")}, HTTP_ACCEPT_LANGUAGE="en")
    assert "No header row" in bad.content.decode()

    supervisor = staff_actor("supervisors").user
    supervisor.is_staff = True
    supervisor.save(update_fields=["is_staff"])
    client.force_login(supervisor)
    assert client.get(page).status_code == 403
