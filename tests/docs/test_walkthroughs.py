"""The walkthroughs in docs/ run as written: their shell blocks, in order, against a live kefu.

A reader copies the blocks of docs/api.md's "A whole return, step by step" one after the other into a shell;
this test does the same (one ``bash`` process, ``set -euo pipefail``, the real ``curl`` and ``jq``) against
pytest-django's live server, with the four variables the walkthrough asks the reader to set. A block that
fails, a path or field that changed, or a date that fell out of the return window fails the test.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from api.models import ApiKey
from orders.models import Order
from tests import markers
from tests.factories.desk import staff_member
from tests.factories.orders import ShopFactory
from tickets.models import Ticket

DOCS = Path(__file__).resolve().parents[2] / "docs"
# A 1×1 JPEG, as a phone would send (baseline, JFIF).
PHOTO = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8QEBEQCgwSExIQEw8QEBD/"
    "yQALCAABAAEBAREA/8wABgAQEAX/2gAIAQEAAD8A0s8g/9k="
)


def shell_blocks(markdown: str, section: str) -> list[str]:
    """The ```bash blocks of one ``## section`` of a markdown page, in order."""
    start = markdown.index(f"## {section}")
    following = markdown.find("\n## ", start + 3)
    body = markdown[start : following if following != -1 else None]
    return re.findall(r"```bash\n(.*?)```", body, flags=re.DOTALL)


def token(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


# serialized_rollback: the departments and routing rules the data migrations made are back after a flush.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_whole_return_walkthrough_runs_as_written(live_server, tmp_path, settings) -> None:
    for program in ("curl", "jq"):
        markers.require(
            None if shutil.which(program) else f"needs {program} (Debian package {program}); CI installs it"
        )
    settings.MEDIA_ROOT = tmp_path / "media"
    shop = ShopFactory(code="tb-flagship", name="旗舰店")
    _, key = ApiKey.issue(shop=shop, name="storefront")
    operations = staff_member("operations", username="ops-agent")
    warehouse = staff_member("warehouse", username="wh-agent")
    logistics = staff_member("logistics", username="lg-agent")
    (tmp_path / "photo.jpg").write_bytes(PHOTO)

    blocks = shell_blocks((DOCS / "api.md").read_text(), "A whole return, step by step")
    assert len(blocks) >= 9, "the walkthrough lost its commands"
    # Every answer's status goes to stderr, so an HTTP error is seen even where a block forgot curl's -f.
    prelude = "set -euo pipefail\ncurl() { command curl -w '%{stderr}HTTP %{http_code}\\n' \"$@\"; }\n"
    script = prelude + "\n".join(blocks)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "KEFU": live_server.url,
        "KEY": key,
        "STAFF_TOKEN": token(operations),
        "WAREHOUSE_TOKEN": token(warehouse),
        "LOGISTICS_TOKEN": token(logistics),
    }
    run = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, f"the walkthrough stopped:\n{run.stdout}\n{run.stderr}"
    statuses = [int(line.split()[1]) for line in run.stderr.splitlines() if re.fullmatch(r"HTTP \d{3}", line)]
    assert len(statuses) == 10 and all(200 <= status < 300 for status in statuses), run.stderr

    ticket = Ticket.objects.get()
    printed = run.stdout.splitlines()
    opened = printed.index(ticket.number)  # `echo "$RETURN"`
    assert printed[opened + 1] == "awaiting_return"  # the approval
    assert "return_in_transit" in printed and "image/jpeg" in printed
    order = Order.objects.get(number="TB20261120001")
    line = order.lines.get()
    assert str(line.refunded_amount) == "54.00"
    assert ticket.attachments.count() == 1


def test_the_deadline_table_script_prints_the_documented_table() -> None:
    """docs/routing-and-deadlines.md prints its table with a shell block; run it, and every row it prints is in
    the page (a row's last cell may say more in the page, as the page explains for `replacement_shipped`)."""
    page = (DOCS / "routing-and-deadlines.md").read_text()
    (block,) = re.findall(r"```sh\n(.*?)```", page, flags=re.DOTALL)
    venv_bin = str(Path(sys.executable).parent)
    run = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + block],
        cwd=DOCS.parent,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": f"{venv_bin}:{os.environ['PATH']}"},
        check=False,
    )
    assert run.returncode == 0, run.stderr
    rows = [line for line in run.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) > 30
    documented = [line for line in page.splitlines() if line.startswith("| ")]
    for row in rows:
        head, _, last = row.rstrip(" |").rpartition(" | ")
        assert any(line.startswith(f"{head} | {last}") for line in documented), f"not in the page: {row}"
