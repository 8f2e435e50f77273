"""``manage.py reconcile_refunds STATEMENT``: compare a provider's refund statement (Alipay 业务明细 or WeChat Pay
退款账单, CSV or XLSX) with the refunds kefu recorded, and print the mismatches (tickets.services.reconciliation).

Exits with status 1 when there is a mismatch (for a scheduled check), 0 when everything matched.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kefu.core.errors import DomainError
from tickets.services.reconciliation import MismatchKind, statement_reconcile
from tickets.statements import statement_read


class Command(BaseCommand):
    help = "Reconcile a provider's refund statement (CSV or XLSX) with the refunds kefu recorded."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("statement", type=Path, help="The statement file (.csv or .xlsx).")
        parser.add_argument("--from", dest="start", type=date.fromisoformat, help="First day (YYYY-MM-DD).")
        parser.add_argument("--to", dest="end", type=date.fromisoformat, help="Day after the last (YYYY-MM-DD).")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["statement"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        if bool(options["start"]) != bool(options["end"]):
            raise CommandError("--from and --to go together")
        try:
            statement = statement_read(name=path.name, content=path.read_bytes())
        except DomainError as exc:
            raise CommandError(f"{path}: {exc.message}") from exc
        period = (options["start"], options["end"]) if options["start"] else None
        result = statement_reconcile(statement=statement, period=period)
        shown = result.period or ("?", "?")
        self.stdout.write(
            f"{statement.provider} statement, {shown[0]} to {shown[1]} (exclusive): "
            f"{result.matched} matched (¥{result.matched_amount}), {len(result.mismatches)} mismatched"
        )
        for kind in MismatchKind:
            for mismatch in result.of_kind(kind):
                where = f" line {mismatch.line}" if mismatch.line else ""
                self.stdout.write(
                    f"  {kind.value:<18} {mismatch.key:<24} order {mismatch.order_number or '-':<16} "
                    f"ticket {mismatch.ticket_number or '-':<18} statement ¥{mismatch.statement_amount or '-'} "
                    f"kefu ¥{mismatch.recorded_amount or '-'} {mismatch.recorded_status}{where}"
                )
        if result.mismatches:
            raise SystemExit(1)
