"""The providers' asynchronous refund notifications: ``POST /api/v1/payments/alipay/notify/<shop>`` and
``POST /api/v1/payments/wechatpay/notify/<shop>``.

Each is verified with the shop's account (Alipay: RSA2 over the form; WeChat Pay: the platform signature, then
the resource decrypted with the APIv3 key) and then settled with ``tickets.services.refunds.refund_settle``,
which is idempotent: a duplicated notification changes nothing. A notification that fails verification writes
nothing and is answered 4xx (404 for an unknown shop or refund); a database that is down is answered 503 (the
provider sends again later), never a 500. Answers are what each provider expects: Alipay the text ``success``
(anything else: it retries), WeChat Pay 204 without a body, or 4xx/5xx with ``{"code": "FAIL", "message": ...}``.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from kefu.core.errors import DomainError
from payments.gateways import alipay, wechatpay
from tickets.actors import Actor
from tickets.payments import GatewayError, NotificationRejected, RefundNotice
from tickets.services.refunds import refund_settle

logger = logging.getLogger(__name__)
# Keep in step with api.middleware.PROVIDER_ANSWER: the API's middleware leaves such an answer as it is (Alipay
# reads the text "fail", not the API's JSON error shape).
PROVIDER_ANSWER = "kefu_provider_answer"


def _alipay_answer(text: str, status: int = 200) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type="text/plain")
    setattr(response, PROVIDER_ANSWER, True)
    return response


def _settle(provider: str, notice: RefundNotice) -> DomainError | None:
    """Apply a verified notice; the refusal when it could not be applied (an unknown refund), else None (applied,
    or a duplicate that changed nothing)."""
    try:
        refund_settle(idempotency_key=notice.idempotency_key, answer=notice.answer, actor=Actor.integration(provider))
    except DomainError as exc:
        logger.warning("%s notification for %s not applied: %s", provider, notice.idempotency_key, exc.message)
        return exc
    return None


@csrf_exempt
@require_POST
def alipay_notify(request: HttpRequest, shop: str) -> HttpResponse:
    try:
        notice = alipay.for_shop(shop_code=shop).notice(request.POST.dict())
        refused = _settle("alipay", notice) if notice is not None else None
    except GatewayError:  # no Alipay account for this shop
        return _alipay_answer("fail", 404)
    except NotificationRejected:
        return _alipay_answer("fail", 400)
    except DatabaseError:
        logger.exception("Alipay notification for shop %s not stored", shop)
        return _alipay_answer("fail", 503)
    if refused is not None:
        return _alipay_answer("fail", refused.http_status)
    return _alipay_answer("success")


def _wechat_fail(status: int, message: str) -> JsonResponse:
    return JsonResponse({"code": "FAIL", "message": message}, status=status, json_dumps_params={"ensure_ascii": False})


@csrf_exempt
@require_POST
def wechatpay_notify(request: HttpRequest, shop: str) -> HttpResponse:
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        notice = wechatpay.for_shop(shop_code=shop).notice(headers, request.body)
        refused = _settle("wechatpay", notice)
    except GatewayError:
        return _wechat_fail(404, _("No WeChat Pay account for this shop."))
    except NotificationRejected as exc:
        return _wechat_fail(401, str(exc))
    except DatabaseError:
        logger.exception("WeChat Pay notification for shop %s not stored", shop)
        return _wechat_fail(503, _("Not stored now; send it again later."))
    if refused is not None:
        return _wechat_fail(refused.http_status, refused.message)
    return HttpResponse(status=204)
