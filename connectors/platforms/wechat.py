"""WeChat Channels shop (微信小店 / 视频号小店): JSON posts with an access token, after-sales read and answered.

Reference: ``PLATFORMS.md`` §3 (fudiwei/DotNetCore.SKIT.FlurlHttpClient.Wechat ``Models/Channels/ECAftersale``;
the list's request/response fields also in deepwell9527/shop-manager ``ChannelsShop/Api/AfterSale``). What kefu
uses:

- Calls: ``POST {base}{path}?access_token=…`` with a JSON body; the answer carries ``errcode``/``errmsg`` (0 = ok).
  No request signing. The access token comes from the client-credential endpoint
  (``GET /cgi-bin/token?grant_type=client_credential&appid=…&secret=…`` → ``access_token``, ``expires_in``): kefu
  gets a new one when the stored one is missing or about to expire, and once more when a call answers
  40001/40014/42001 (token invalid or expired), then repeats that call once.
- Reading: ``/channels/ec/aftersale/getaftersalelist`` (``begin_create_time``/``end_create_time``, Unix seconds,
  at most 24 h apart; ``next_key`` pages; answers ``after_sale_order_id_list``, ``has_more``, ``next_key``) and
  ``/channels/ec/aftersale/getaftersaleorder`` (``after_sale_order_id`` → ``after_sale_order``). The list is by
  *creation* time: the pull finds new cases; later changes of a case arrive by push and by reconciliation.
- Writing: ``acceptapply`` (``address_id`` to accept a return; to refund once a return is back),
  ``rejectapply`` (``reject_reason``), ``uploadrefundcertificate``, ``acceptexchangereship``.
- ``deadline`` is the *seconds left* for the merchant's answer: converted to a time when the case is fetched.
  Amounts are fen. Times are Unix seconds.
- Errors: 45009/45011/45033 (frequency and quota limits) → rate limited; -1 (system busy) → transient;
  40001/40014/42001 → token refreshed once, then the call repeated; every other code → permanent (``errmsg`` is
  what the staff read).
- Pushes: the standard WeChat message push, JSON data format, event ``channels_ec_aftersale_update``
  (``finder_shop_aftersale_status_update``: ``status``, ``after_sale_order_id``, ``order_id``) and
  ``channels_ec_complaint_update``; ``signature = sha1(sorted [token, timestamp, nonce])`` in the query string,
  safe mode (``encrypt_type=aes``, ``msg_signature`` over token, timestamp, nonce and ``Encrypt``; AES-256-CBC)
  decrypted; answered ``success``. The push Token and EncodingAESKey are the deployment's
  (``KEFU_WECHAT_PUSH_TOKEN``, ``KEFU_WECHAT_PUSH_AES_KEY``): one message-push configuration, as a service
  provider has for all the shops it serves.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from connectors.base import (
    BadSignature,
    CaseKind,
    CaseLine,
    CaseSnapshot,
    CaseStatus,
    Connector,
    OrderSnapshot,
    Page,
    Platform,
    PushMessage,
    TokenGrant,
)
from connectors.commands import Command, CommandResult, ErrorKind, PlatformError
from connectors.platforms import router
from connectors.platforms.orders import case_lines, the_case
from connectors.platforms.wechat_codes import (
    ACCEPT_PATH,
    AFTERSALE_EVENT,
    CERTIFICATE_PATH,
    COMPLAINT_EVENT,
    DEFAULT_BASE_URL,
    DETAIL_PATH,
    EXCHANGE_RESHIP_PATH,
    LIST_PATH,
    MAX_BODY,
    MAX_LIST_WINDOW,
    PROGRESS,
    PUSH_MAX_AGE_SECONDS,
    REJECT_PATH,
    REJECTED,
    STATUSES,
    TOKEN_INVALID,
    TOKEN_PATH,
    TYPES,
    decrypted_push,
    error_from,
    from_unix,
    offer_fen,
    push_query,
    push_signature,
)


class WechatConnector(Connector):
    platform = Platform.WECHAT

    # -- the call --------------------------------------------------------------------------------------
    @property
    def base(self) -> str:
        return (self.connection.base_url or DEFAULT_BASE_URL).rstrip("/")

    def _http(self, url: str, body: bytes | None = None) -> dict[str, Any]:
        """GET ``url`` (POST ``body`` as JSON when given): the answer, a JSON object, or :class:`PlatformError`."""
        response = router.send(url, data=body, content_type="application/json", max_body=MAX_BODY)
        answer = router.decoded(response)
        if not isinstance(answer, dict):
            raise router.unexpected(response)
        return answer

    def refresh_access_token(self) -> TokenGrant:
        """A new access token by the client-credential grant (WeChat has no refresh token: the app id and secret
        are the grant). The old token keeps working a few minutes on WeChat's side."""
        query = urlencode(
            {"grant_type": "client_credential", "appid": self.connection.app_key, "secret": self.connection.app_secret}
        )
        answer = self._http(f"{self.base}{TOKEN_PATH}?{query}")
        if "access_token" not in answer:
            raise error_from(int(answer.get("errcode", 0) or 0), str(answer.get("errmsg", "no access_token")))
        expires_in = int(answer.get("expires_in") or 7200)
        return TokenGrant(
            access_token=str(answer["access_token"]), expires_at=timezone.now() + timedelta(seconds=expires_in)
        )

    def _renew_token(self) -> str:
        grant = self.refresh_access_token()
        self.connection.access_token = grant.access_token
        self.connection.token_expires_at = grant.expires_at
        if self.connection.pk:
            self.connection.save(update_fields=["access_token", "token_expires_at"])
        return grant.access_token

    def _token(self) -> str:
        expires = self.connection.token_expires_at
        if not self.connection.access_token or (
            expires is not None and expires <= timezone.now() + timedelta(minutes=1)
        ):
            return self._renew_token()
        return str(self.connection.access_token)

    def call(self, path: str, **body: Any) -> dict[str, Any]:
        """POST one call; the answer (errcode 0), or :class:`PlatformError`. A token WeChat calls invalid or
        expired is replaced once and the call repeated."""
        data = json.dumps({k: v for k, v in body.items() if v is not None}, ensure_ascii=False).encode()
        token = self._token()
        for attempt in (1, 2):
            answer = self._http(f"{self.base}{path}?access_token={token}", data)
            errcode = int(answer.get("errcode", 0) or 0)
            if errcode == 0:
                return answer
            if errcode in TOKEN_INVALID and attempt == 1:
                token = self._renew_token()
                continue
            raise error_from(errcode, str(answer.get("errmsg", "")))
        raise AssertionError("unreachable")  # pragma: no cover

    # -- reading ---------------------------------------------------------------------------------------
    def snapshot(self, order: Mapping[str, Any], *, fetched_at: datetime | None = None) -> CaseSnapshot:
        """An ``after_sale_order`` in neutral terms; ``deadline`` (seconds left) becomes a time here."""
        fetched_at = fetched_at or timezone.now()
        raw_status = str(order.get("status", ""))
        raw_type = str(order.get("type", ""))
        status = STATUSES.get(raw_status, CaseStatus.UNKNOWN)
        arbitration = bool(order.get("complaint_id"))
        if arbitration and raw_status in REJECTED:
            status = CaseStatus.ARBITRATION  # the buyer took the refusal to the platform (纠纷)
        deadline = None
        seconds = int(order.get("deadline") or 0)  # only while the merchant is to answer or to receive
        if seconds > 0:
            deadline = fetched_at + timedelta(seconds=seconds)
        product = order.get("product_info") or {}
        refund = order.get("refund_info") or {}
        back = order.get("return_info") or {}
        details = order.get("details") or {}
        reason = str(order.get("reason_text") or order.get("reason") or "")
        if details.get("desc"):
            reason = f"{reason}: {details['desc']}" if reason else str(details["desc"])
        modified = from_unix(order.get("update_time")) or from_unix(order.get("create_time")) or fetched_at
        sku = str(product.get("sku_id") or product.get("product_id") or "")
        return CaseSnapshot(
            platform=Platform.WECHAT,
            shop_external_id=self.connection.external_id,
            case_id=str(order["after_sale_order_id"]),
            order_id=str(order.get("order_id", "")),
            kind=TYPES.get(raw_type, CaseKind.UNKNOWN),
            status=status,
            raw_type=raw_type,
            raw_status=raw_status if not arbitration else f"{raw_status}/complaint",
            modified_at=modified,
            version=PROGRESS.get(raw_status, 0) * 10 + (5 if arbitration else 0),
            refund_fen=int(refund.get("amount") or 0),
            paid_fen=int(refund.get("amount") or 0),
            reason=reason,
            merchant_deadline=deadline,
            offer_fen=offer_fen(order) if status == CaseStatus.COUNTER_OFFER else None,
            lines=(
                CaseLine(
                    sku=sku,
                    quantity=int(product.get("count") or 1),
                    external_id=str(product.get("product_id", "")),
                ),
            ),
            buyer_id=str(order.get("openid", "")),
            buyer_nick="",
            return_carrier=str(back.get("delivery_name") or back.get("delivery_id") or ""),
            return_waybill=str(back.get("waybill_id") or ""),
            arbitration=arbitration,
            raw=dict(order),
        )

    def pull(self, cursor: str, *, until: datetime | None = None) -> Page:
        """One page of ``getaftersalelist`` over a creation window, each case's detail fetched.

        The cursor is ``<begin>|<end>|<next_key>`` (Unix seconds). A window is at most
        ``KEFU_CONNECTOR_PULL_WINDOW_SECONDS`` (and WeChat's 24 h) wide and ends at ``until`` (default: now); once
        its last page is read the next window starts ``KEFU_CONNECTOR_PULL_OVERLAP_SECONDS`` before its end.
        """
        now = int((until or timezone.now()).timestamp())
        width = int(min(settings.KEFU_CONNECTOR_PULL_WINDOW_SECONDS, MAX_LIST_WINDOW))
        if cursor:
            begin_text, end_text, next_key = cursor.split("|", 2)
            begin, end = int(begin_text), int(end_text)
        else:
            begin, end, next_key = now - width, now, ""
        if not next_key:  # a new window: as wide as allowed, up to now
            end = min(now, begin + width)
        answer = self.call(LIST_PATH, begin_create_time=begin, end_create_time=end, next_key=next_key or None)
        fetched_at = timezone.now()
        snapshots = [
            self.fetch(str(case_id), fetched_at=fetched_at) for case_id in answer.get("after_sale_order_id_list") or []
        ]
        if answer.get("has_more") in (True, "true") and answer.get("next_key"):
            return Page(snapshots, f"{begin}|{end}|{answer['next_key']}", has_more=True)
        overlap = int(settings.KEFU_CONNECTOR_PULL_OVERLAP_SECONDS)
        next_begin = max(begin, end - overlap) if end < now else max(begin, now - overlap)
        return Page(snapshots, f"{next_begin}|{now}|", has_more=end < now)

    def fetch(self, case_id: str, *, fetched_at: datetime | None = None) -> CaseSnapshot:
        answer = self.call(DETAIL_PATH, after_sale_order_id=case_id)
        return self.snapshot(answer["after_sale_order"], fetched_at=fetched_at or timezone.now())

    def fetch_order(self, order_id: str, case: CaseSnapshot | None = None) -> OrderSnapshot:
        """The order as far as the case describes it (its product line, the amount). The order API
        (``/channels/ec/order/get``) is not used yet: the shop's own order sync completes the order."""
        case = the_case(order_id, case)
        created = from_unix(case.raw.get("create_time")) or case.modified_at
        lines = case_lines(case)
        return OrderSnapshot(order_id=order_id, buyer_id=case.buyer_id, buyer_nick="", paid_at=created, lines=lines)

    def cursor_at(self, moment: datetime) -> str:
        stamp = int(moment.timestamp())
        return f"{stamp}|{stamp}|"

    # -- pushes ----------------------------------------------------------------------------------------
    @classmethod
    def push_shop_id(cls, headers: Mapping[str, str], body: bytes) -> str:
        """``ToUserName``: the shop's original id (gh_…), in plain and safe mode alike."""
        data = json.loads(body)
        return str(data.get("ToUserName", "")) if isinstance(data, dict) else ""

    @classmethod
    def push_answer(cls) -> tuple[int, bytes, str]:
        return 200, b"success", "text/plain"

    def verify_push(self, headers: Mapping[str, str], body: bytes) -> list[PushMessage]:
        token = settings.KEFU_WECHAT_PUSH_TOKEN
        if not token:
            raise BadSignature("KEFU_WECHAT_PUSH_TOKEN is not set")
        query = push_query(headers)
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        data = json.loads(body)
        if not isinstance(data, dict):
            raise BadSignature("unreadable body")
        if query.get("encrypt_type") == "aes" or "Encrypt" in data:
            encrypted = str(data.get("Encrypt", ""))
            given, expected = query.get("msg_signature", ""), push_signature(token, timestamp, nonce, encrypted)
        else:
            given, expected = query.get("signature", ""), push_signature(token, timestamp, nonce)
        if not given or not hmac.compare_digest(given, expected):
            raise BadSignature("signature does not match")
        try:
            age = abs(time.time() - float(timestamp))
        except ValueError as exc:
            raise BadSignature("bad timestamp") from exc
        if age > PUSH_MAX_AGE_SECONDS:
            raise BadSignature("timestamp too old")
        if "Encrypt" in data:
            data = decrypted_push(str(data["Encrypt"]), settings.KEFU_WECHAT_PUSH_AES_KEY, self.connection.app_key)
        event = str(data.get("Event", ""))
        if event == AFTERSALE_EVENT:
            detail = data.get("finder_shop_aftersale_status_update") or {}
        elif event == COMPLAINT_EVENT:
            # The complaint push's body is unconfirmed: whichever object names the after-sales case.
            detail = next(
                (v for v in data.values() if isinstance(v, dict) and v.get("after_sale_order_id")),
                {},
            )
        else:
            return []  # another event of the account (orders, products…): answered, not stored
        case_id = str(detail.get("after_sale_order_id", ""))
        created = str(data.get("CreateTime", ""))
        return [
            PushMessage(
                # Events have no MsgId: a resend of the same event repeats its CreateTime.
                message_id=f"{event}:{case_id}:{detail.get('status', detail.get('complaint_status', ''))}:{created}",
                topic=event,
                case_id=case_id,
                modified_at=from_unix(created) if created.isdigit() else None,
                raw=data,
            )
        ]

    @classmethod
    def push_challenge(cls, query: Mapping[str, str]) -> bytes | None:
        """The URL check WeChat runs when the push URL is saved: ``GET ?signature&timestamp&nonce&echostr`` is
        answered with ``echostr`` when the signature matches the deployment's token."""
        token = settings.KEFU_WECHAT_PUSH_TOKEN
        echostr = query.get("echostr", "")
        if not token or not echostr:
            return None
        expected = push_signature(token, query.get("timestamp", ""), query.get("nonce", ""))
        if not hmac.compare_digest(query.get("signature", ""), expected):
            return None
        return echostr.encode()

    # -- writing ---------------------------------------------------------------------------------------
    @staticmethod
    def command_extra(raw: Mapping[str, Any]) -> dict[str, Any]:
        """The amount asked for (acceptapply refunds exactly that; a smaller refund is a counter-offer)."""
        return {"refund_fen": int((raw.get("refund_info") or {}).get("amount") or 0)}

    def agree_refund(self, command: Command) -> CommandResult:
        asked = int(command.extra.get("refund_fen") or 0)
        if command.amount_fen is not None and asked and command.amount_fen < asked:
            raise PlatformError(
                ErrorKind.PERMANENT,
                "partial_refund",
                "WeChat refunds what the buyer asked for when the merchant accepts; a smaller refund is a "
                "counter-offer (merchantupdateaftersale), which kefu does not send yet.",
            )
        answer = self.call(ACCEPT_PATH, after_sale_order_id=command.case_id)
        return CommandResult(raw=answer)

    def agree_return(self, command: Command) -> CommandResult:
        address = command.address_id or self.connection.return_address_id
        if not address:
            raise PlatformError(
                ErrorKind.PERMANENT, "no_address", "The shop connection has no return address id (address_id)."
            )
        answer = self.call(ACCEPT_PATH, after_sale_order_id=command.case_id, address_id=address)
        return CommandResult(raw=answer)

    def refuse(self, command: Command) -> CommandResult:
        answer = self.call(
            REJECT_PATH,
            after_sale_order_id=command.case_id,
            reject_reason=(command.reason or "").strip()[:200],
            reject_certificates=list(command.evidence) or None,  # media ids; the field name is unconfirmed
        )
        return CommandResult(raw=answer)

    def upload_evidence(self, command: Command) -> CommandResult:
        if not command.evidence:  # kefu's own files would first have to become WeChat media (not done by kefu)
            raise PlatformError(
                ErrorKind.PERMANENT,
                "no_media",
                _("WeChat takes evidence as media ids uploaded beforehand: upload it in the 微信小店 back office."),
            )
        answer = self.call(
            CERTIFICATE_PATH,
            after_sale_order_id=command.case_id,
            refund_certificates=list(command.evidence),
            desc=command.reason or None,
        )
        return CommandResult(raw=answer)

    def ship_exchange(self, command: Command) -> CommandResult:
        answer = self.call(
            EXCHANGE_RESHIP_PATH,
            after_sale_order_id=command.case_id,
            waybill_id=command.waybill,
            delivery_id=command.carrier,
        )
        return CommandResult(raw=answer)

    def ship_resend(self, command: Command) -> CommandResult:
        raise PlatformError(
            ErrorKind.PERMANENT, "unsupported", "WeChat Channels has no API to resend a missing item (补寄)."
        )

    def counter_offer(self, command: Command) -> CommandResult:
        """商家协商 (``merchantupdateaftersale``) needs an ``update_reason_type`` from WeChat's own list, which is
        not public: not sent. The offer a merchant makes in the back office is read (``USER_WAIT_CONFIRM_UPDATE``)."""
        raise PlatformError(
            ErrorKind.PERMANENT,
            "unsupported",
            _("kefu does not send WeChat's counter-offer (商家协商) yet: make the offer in the 微信小店 back office."),
        )
