"""Re-encrypt every stored payment-account secret with the first key of KEFU_CONNECTOR_KEY (run beside
``connectors_rotate_keys`` after adding a new key in front; the old one can be removed once both have run)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from kefu.core.crypto import rotate
from payments.models import PaymentAccount

COLUMNS = ("private_key", "apiv3_key")


class Command(BaseCommand):
    help = "Re-encrypt payment account secrets with the newest KEFU_CONNECTOR_KEY."

    def handle(self, *args: Any, **options: Any) -> None:
        table = PaymentAccount._meta.db_table
        done = 0
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SELECT id, {', '.join(COLUMNS)} FROM {table}")  # noqa: S608 - fixed names
            for pk, *values in cursor.fetchall():
                rotated = [rotate(value or "") for value in values]
                cursor.execute(
                    f"UPDATE {table} SET {', '.join(f'{c} = %s' for c in COLUMNS)} WHERE id = %s",  # noqa: S608
                    [*rotated, pk],
                )
                done += 1
        self.stdout.write(f"{done} payment accounts re-encrypted")
