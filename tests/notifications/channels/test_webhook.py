"""The storefront webhook: the body, the signature, the headers, failures, and the documented verification."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from notifications.channels import DeliveryError, Message
from notifications.channels.webhook import WebhookSender, body_bytes, signature, signed_headers
from notifications.leasing import claim_one
from notifications.models import Notification
from orders.models import Shop
from tests.notifications.conftest import SECRET, open_return, webhook_shop
from tests.notifications.support import Hit, free_port, signature_valid

DOCS = Path(__file__).resolve().parents[3] / "docs" / "notifications.md"


def claimed(row: Notification) -> Message:
    """``row`` as the relay hands it to its sender: leased by the claim, with its shop's signing secrets."""
    status, message, _ = claim_one(notification_id=row.pk, now=timezone.now())
    assert status == "claimed" and message is not None
    return message


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body_with_the_shop_secret() -> None:
    body = '{"event":"ticket_created","id":"abc","shop":"店"}'.encode()
    assert signature("whsec_test", "1767225600", body) == (
        "sha256=408f5b2a6cbc28b533bd29d1ca1bbfdfbe0678c5bc4c91c39eb2c8bbf63fb416"
    )
    assert signature("whsec_test", "1767225601", body) != signature("whsec_test", "1767225600", body)


def test_the_body_is_compact_json_with_sorted_keys_in_utf8() -> None:
    assert body_bytes({"shop": "店", "event": "closed", "ticket": {"b": 1, "a": None}}) == (
        '{"event":"closed","shop":"店","ticket":{"a":null,"b":1}}'.encode()
    )


def test_the_headers_carry_event_delivery_key_timestamp_and_signature() -> None:
    headers = signed_headers(secret="s", body=b"{}", event="closed", dedup_key="k1", timestamp=1767225600)
    assert headers == {
        "Content-Type": "application/json; charset=utf-8",
        "X-Kefu-Event": "closed",
        "X-Kefu-Delivery": "k1",
        "X-Kefu-Timestamp": "1767225600",
        "X-Kefu-Signature": signature("s", "1767225600", b"{}"),
    }


@pytest.mark.django_db
def test_a_delivery_posts_the_stored_payload_signed_with_the_shops_secret(storefront) -> None:
    row = Notification.objects.get(ticket=open_return(webhook_shop(storefront.url)))
    WebhookSender().send(claimed(row))
    [hit] = storefront.hits
    assert hit.body == body_bytes(row.payload)
    assert signature_valid(hit, SECRET)
    assert hit.headers["X-Kefu-Event"] == "ticket_created"
    assert hit.headers["X-Kefu-Delivery"] == row.dedup_key
    assert abs(int(hit.headers["X-Kefu-Timestamp"]) - time.time()) < 5
    assert hit.headers["User-Agent"] == "kefu-notifications/1"


@pytest.mark.django_db
def test_a_shop_without_a_secret_gets_no_unsigned_webhook(storefront) -> None:
    row = Notification.objects.get(ticket=open_return(webhook_shop(storefront.url, secret="")))
    with pytest.raises(DeliveryError, match="no webhook secret"):
        WebhookSender().send(claimed(row))
    assert storefront.hits == []


@pytest.mark.django_db
@pytest.mark.parametrize("failure", ["http-500", "timeout", "refused"])
def test_an_error_answer_a_timeout_or_a_refused_connection_is_a_delivery_error(storefront, settings, failure) -> None:
    settings.KEFU_OUTBOUND_DEADLINE_SECONDS = 0.3
    message = claimed(Notification.objects.get(ticket=open_return(webhook_shop(storefront.url))))
    if failure == "http-500":
        storefront.always_fail = True
    elif failure == "timeout":
        storefront.delay = 1.0
    else:
        message = message._replace(recipient=f"http://127.0.0.1:{free_port()}/hook")  # nothing listens there
    expected = {"http-500": "HTTP 500", "timeout": "no complete answer within 0.3 s", "refused": "Connection"}[failure]
    with pytest.raises(DeliveryError, match=expected):
        WebhookSender().send(message)


def documented_verifier() -> Any:
    """The Python example of docs/notifications.md, run as a storefront would copy it."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)
    source = next(b for b in blocks if "def verify_kefu_webhook" in b)
    namespace: dict[str, Any] = {}
    exec(compile(source, str(DOCS), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["verify_kefu_webhook"]


@pytest.mark.django_db
def test_the_verification_example_in_the_docs_accepts_a_real_delivery_and_rejects_forgeries(storefront) -> None:
    verify = documented_verifier()
    shop: Shop = webhook_shop(storefront.url)
    row = Notification.objects.get(ticket=open_return(shop))
    message = claimed(row)
    WebhookSender().send(message)
    WebhookSender().send(message)  # delivered again (at least once): same X-Kefu-Delivery
    first, again = storefront.hits
    seen: set[str] = set()

    event = verify(first.headers, first.body, shop.webhook_secret, seen)
    assert event["id"] == row.dedup_key and event["event"] == "ticket_created"
    assert verify(again.headers, again.body, shop.webhook_secret, seen) is None  # a duplicate: do nothing

    def forged(hit: Hit, **changes: Any) -> tuple[dict[str, str], bytes]:
        return {**hit.headers, **changes.get("headers", {})}, changes.get("body", hit.body)

    with pytest.raises(ValueError):
        verify(*forged(first, body=first.body.replace(b"ticket_created", b"closed")), shop.webhook_secret, set())
    with pytest.raises(ValueError):
        verify(first.headers, first.body, "someone else's secret", set())
    with pytest.raises(ValueError):  # a replay of a captured request an hour later
        verify(first.headers, first.body, shop.webhook_secret, set(), now=time.time() + 3600)


@pytest.mark.django_db
def test_the_example_request_in_the_docs_verifies_and_has_the_fields_kefu_sends(storefront) -> None:
    block = re.search(r"```http\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S).group(1)
    head, body = block.split("\n\n", 1)
    headers = dict(line.split(": ", 1) for line in head.splitlines()[1:])
    raw = body.strip().encode()
    event = documented_verifier()(headers, raw, "whsec_example", set(), now=int(headers["X-Kefu-Timestamp"]))
    assert event["id"] == headers["X-Kefu-Delivery"]

    def shape(value: Any) -> Any:
        return {k: shape(v) for k, v in value.items()} if isinstance(value, dict) else None

    real = Notification.objects.get(ticket=open_return(webhook_shop(storefront.url))).payload
    assert shape(event) == shape(real)


# -- secret rotation --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_during_a_rotations_overlap_both_secrets_verify_and_after_it_only_the_new_one(storefront, settings) -> None:
    """The storefront may switch to the new secret at any time within the overlap; the documented verifier
    accepts a delivery with either secret meanwhile, and only with the new one afterwards."""
    from datetime import timedelta

    import time_machine

    from orders.services import shop_webhook_secret_rotate

    settings.KEFU_WEBHOOK_SECRET_OVERLAP_HOURS = 72
    verify = documented_verifier()
    shop: Shop = webhook_shop(storefront.url)
    old = shop.webhook_secret
    rotated = shop_webhook_secret_rotate(shop_id=shop.pk)
    assert rotated.secret != old and len(rotated.secret) >= Shop.MIN_SECRET_LENGTH

    message = claimed(Notification.objects.get(ticket=open_return(shop)))
    WebhookSender().send(message)
    with time_machine.travel(timezone.now() + timedelta(hours=73), tick=False):
        WebhookSender().send(message)
    during, after = storefront.hits

    assert during.headers["X-Kefu-Signature"].count("sha256=") == 2
    assert verify(during.headers, during.body, rotated.secret, set(), now=int(during.headers["X-Kefu-Timestamp"]))
    assert verify(during.headers, during.body, old, set(), now=int(during.headers["X-Kefu-Timestamp"]))
    assert after.headers["X-Kefu-Signature"].count("sha256=") == 1
    assert verify(after.headers, after.body, rotated.secret, set(), now=int(after.headers["X-Kefu-Timestamp"]))
    with pytest.raises(ValueError):
        verify(after.headers, after.body, old, set(), now=int(after.headers["X-Kefu-Timestamp"]))


@pytest.mark.django_db
def test_the_relay_signs_with_both_secrets_during_the_overlap(storefront) -> None:
    from notifications.relay import relay_pending
    from orders.services import shop_webhook_secret_rotate

    shop: Shop = webhook_shop(storefront.url)
    old = shop.webhook_secret
    new = shop_webhook_secret_rotate(shop_id=shop.pk).secret
    open_return(shop)
    assert relay_pending().sent == 1
    [hit] = storefront.hits
    verify = documented_verifier()
    now = int(hit.headers["X-Kefu-Timestamp"])
    assert verify(hit.headers, hit.body, old, set(), now=now) and verify(hit.headers, hit.body, new, set(), now=now)


def test_a_second_signature_follows_the_first_separated_by_a_comma() -> None:
    headers = signed_headers(
        secret="new", previous_secret="old", body=b"{}", event="closed", dedup_key="k1", timestamp=1767225600
    )
    assert headers["X-Kefu-Signature"] == (
        f"{signature('new', '1767225600', b'{}')}, {signature('old', '1767225600', b'{}')}"
    )
