"""docs/operations.md's backup and restore blocks, run as written against a database with tickets and evidence.

The two ```bash blocks of "Backups and restore" run in ``bash`` with the variables the page names: the backup
against the test database and its media folder, the restore into a new, empty database and folder. The restored
copy must hold the same tickets, timeline, outbox and evidence bytes, and its schema must match the code.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from tests import markers
from tests.factories.desk import open_exchange, open_return
from tests.markers import requires_postgres
from tickets.models import Attachment, Ticket, TicketEvent

DOCS = Path(__file__).resolve().parents[2] / "docs"


def url_of(database: str) -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{database}"


def counts(cursor) -> tuple[int, int, int, int]:
    figures = []
    for table in (
        Ticket._meta.db_table,
        TicketEvent._meta.db_table,
        "notifications_notification",
        Attachment._meta.db_table,
    ):
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - our own table names
        figures.append(cursor.fetchone()[0])
    return tuple(figures)  # type: ignore[return-value]


@requires_postgres
# serialized_rollback: the departments and routing rules the data migrations made are back after a flush.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_backup_then_restore_as_documented_gives_back_every_ticket_and_file(tmp_path, settings) -> None:
    for program in ("pg_dump", "pg_restore", "psql"):
        markers.require(None if shutil.which(program) else f"needs {program} (Debian package postgresql-client)")
    media, backups, restored_media = tmp_path / "media", tmp_path / "backups", tmp_path / "restored-media"
    backups.mkdir()
    settings.MEDIA_ROOT = media
    ticket = open_return()
    open_exchange()
    photo = b"\xff\xd8\xff\xe0 a buyer's photo \xff\xd9"
    attachment = Attachment(
        ticket=ticket,
        original_name="photo.jpg",
        content_type="image/jpeg",
        size=len(photo),
        actor_kind="buyer",
        actor_name="buyer",
    )
    attachment.file.save("photo.jpg", ContentFile(photo))
    with connection.cursor() as cursor:
        before = counts(cursor)
    assert before[0] == 2 and before[3] == 1

    page = (DOCS / "operations.md").read_text()
    section = page[page.index("## 8. Backups and restore") :]
    backup, restore = re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)[:2]

    restored = f"kefu_restore_{uuid.uuid4().hex[:8]}"
    admin = ["psql", url_of("postgres"), "-v", "ON_ERROR_STOP=1", "-qc"]
    subprocess.run([*admin, f"CREATE DATABASE {restored}"], check=True)
    try:
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "DATABASE_URL": url_of(connection.settings_dict["NAME"]),
            "DJANGO_MEDIA_ROOT": str(media),
            "BACKUP_DIR": str(backups),
            "RESTORE_URL": url_of(restored),
            "RESTORE_MEDIA_ROOT": str(restored_media),
        }
        for block in (backup, restore):
            run = subprocess.run(
                ["bash", "-c", "set -euo pipefail\n" + block],
                cwd=DOCS.parent,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert run.returncode == 0, f"{block}\n{run.stdout}\n{run.stderr}"

        import psycopg

        with psycopg.connect(url_of(restored)) as copy, copy.cursor() as cursor:
            assert counts(cursor) == before
            cursor.execute(f"SELECT file FROM {Attachment._meta.db_table}")  # noqa: S608
            (name,) = cursor.fetchone()
        assert (restored_media / name).read_bytes() == photo
    finally:
        subprocess.run([*admin, f"DROP DATABASE IF EXISTS {restored} WITH (FORCE)"], check=False)
