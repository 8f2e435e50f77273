"""One pull per connection at a time: a lease on the connection's row, not a cache entry (it holds without
Redis), and no transaction holding the row while the platform is called."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection as db
from django.utils import timezone

from connectors.models import PlatformCase, ShopConnection
from connectors.services.sync import connection_pull
from tests.markers import requires_postgres


@pytest.mark.django_db
def test_a_pull_while_another_holds_the_lease_is_busy_and_calls_nothing(connection, taobao):
    taobao.create("refund_only")
    ShopConnection.objects.filter(pk=connection.pk).update(
        pull_lease="another-worker", pull_leased_until=timezone.now() + timedelta(minutes=5)
    )

    result = connection_pull(connection_id=connection.pk)

    assert result.busy and result.cases == 0 and taobao.calls == []
    assert ShopConnection.objects.get(pk=connection.pk).pull_lease == "another-worker"  # not released by us


@pytest.mark.django_db
def test_a_lease_left_by_a_crashed_pull_runs_out_and_the_next_pull_releases_its_own(connection, taobao):
    refund = taobao.create("refund_only")
    ShopConnection.objects.filter(pk=connection.pk).update(
        pull_lease="crashed-worker", pull_leased_until=timezone.now() - timedelta(seconds=1)
    )

    result = connection_pull(connection_id=connection.pk)

    assert not result.busy and result.cases == 1
    assert PlatformCase.objects.filter(case_id=refund["refund_id"]).exists()
    stored = ShopConnection.objects.get(pk=connection.pk)
    assert (stored.pull_lease, stored.pull_leased_until) == ("", None)


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_pulls_at_once_on_postgresql_one_pulls_and_the_row_stays_unlocked_meanwhile(connection, taobao):
    ids = [taobao.create("refund_only")["refund_id"] for _ in range(3)]
    taobao.stall_next, taobao.stall = 1, 2.0  # the first pull's page takes two seconds to come
    first: dict[str, object] = {}

    def pull() -> None:
        try:
            first["result"] = connection_pull(connection_id=connection.pk)
        finally:
            db.close()

    thread = threading.Thread(target=pull)
    thread.start()
    time.sleep(0.7)  # the first pull holds the lease and waits for the platform

    second = connection_pull(connection_id=connection.pk)
    with db.cursor() as cursor:  # the row is not locked while the platform is called: a write goes through
        cursor.execute("SET lock_timeout = '300ms'")
        ShopConnection.objects.filter(pk=connection.pk).update(external_id=connection.external_id)
        cursor.execute("SET lock_timeout = 0")
    thread.join(20)

    assert second.busy and second.cases == 0
    assert first["result"].busy is False and first["result"].cases == 3  # type: ignore[attr-defined]
    assert taobao.calls.count("taobao.refunds.receive.get") == 1
    assert PlatformCase.objects.filter(case_id__in=ids, ticket__isnull=False).count() == 3
