"""Taobao's "invalid session" (error code 27) against the TOP simulator: the access token is refreshed with the
connection's refresh token and the call is sent once more; without a way to refresh, the error is surfaced."""

from __future__ import annotations

import pytest

from connectors.commands import ErrorKind, PlatformError
from connectors.models import InboxMessage, ShopConnection
from connectors.platforms import connector_for
from connectors.services.sync import inbox_process
from tests.connectors.conftest import push, ticket_of

pytestmark = pytest.mark.django_db


def test_an_invalid_session_refreshes_the_token_and_the_push_still_becomes_a_ticket(client, connection, taobao):
    connection.refresh_token = taobao.refresh_token
    connection.save()
    refund = taobao.create("refund_only")
    taobao.session = "6100-revoked-by-the-seller"  # the shop's session is no longer valid (code 27)

    assert push(client, taobao.message(refund["refund_id"], "RefundCreated")).status_code == 200
    result = inbox_process()

    assert result.processed == 1 and result.failed == 0
    assert ticket_of(refund["refund_id"]).state == "requested"
    assert taobao.refreshes == 1 and taobao.errors == ["invalid-sessionkey"]
    assert taobao.calls.count("taobao.refund.get") == 2  # refused once, sent once more with the new token
    stored = ShopConnection.objects.get(pk=connection.pk)
    assert stored.access_token == taobao.session == "6100sim-refreshed-1"
    assert stored.refresh_token == taobao.refresh_token == "sim-refresh-token-2"


def test_without_a_refresh_token_an_invalid_session_is_a_permanent_error_the_admin_shows(client, connection, taobao):
    refund = taobao.create("refund_only")
    taobao.session = "6100-revoked-by-the-seller"

    push(client, taobao.message(refund["refund_id"], "RefundCreated"))
    result = inbox_process()

    assert result.failed == 1 and taobao.refreshes == 0
    assert InboxMessage.objects.get().error.startswith("permanent: invalid-session: SessionKey非法")


def test_a_refused_refresh_is_not_retried_again_and_again(connection, taobao):
    connection.refresh_token = "a-refresh-token-taobao-no-longer-knows"
    connection.save()
    refund = taobao.create("refund_only")
    taobao.session = "6100-revoked-by-the-seller"

    with pytest.raises(PlatformError) as caught:
        connector_for(connection).fetch(refund["refund_id"])

    assert (caught.value.kind, caught.value.code) == (ErrorKind.PERMANENT, "invalid_grant")
    assert taobao.calls.count("taobao.refund.get") == 1 and taobao.refreshes == 0
