"""The demo's canned replies (快捷短语) and macros, in Chinese and English, and the shops' return addresses, so
the reply picker and the macro menu have something real to offer on first start.

Replies and macros for every shop (a merchant's own wording, not something kefu ships: hence demo data, not a
data migration), one for the warehouse only; made by title, so running the demo again adds nothing twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kefu.core.vocabulary import Priority
from replies.models import CannedReply, CannedReplyText, Macro
from routing.models import Department

if TYPE_CHECKING:
    from desk.demo.scenarios import Demo

_WAREHOUSE = "浙江省杭州市余杭区仓前街道文一西路 1888 号 糖果家居售后仓"
RETURN_ADDRESSES = {
    "demo-taobao": f"{_WAREHOUSE} 收件人：王仓管 电话：0571-88886666",
    "demo-jd": f"{_WAREHOUSE}（京东） 收件人：王仓管 电话：0571-88886666",
    "demo-pdd": f"{_WAREHOUSE}（拼多多） 收件人：李仓管 电话：0571-88887777",
    "demo-own": f"{_WAREHOUSE}（官方商城） 收件人：王仓管 电话：0571-88886666",
}

# title → (keywords, department, zh-hans, en)
REPLIES: dict[str, tuple[str, str | None, str, str]] = {
    "退货地址（同意退货）": (
        "退货 地址 寄回 同意 return address",
        None,
        "亲，{{ buyer.name }}您好！您在订单 {{ order.number }} 的退货申请已同意，请在 {{ deadline }} 前将商品寄回："
        "{{ return_address }}。寄出后请在售后单 {{ ticket.number }} 中填写快递公司和单号，我们收到并检查后会尽快为您"
        "退款 {{ amount }}。",
        "Hello {{ buyer.name }}, your return for order {{ order.number }} is approved. Please send the item by "
        "{{ deadline }} to: {{ return_address }}. Then add the carrier and tracking number to request "
        "{{ ticket.number }}; we refund {{ amount }} once it arrives and is checked.",
    ),
    "催填物流单号": (
        "物流 单号 快递 寄回 tracking",
        None,
        "亲，{{ buyer.name }}您好，售后单 {{ ticket.number }} 还没有看到您的退货物流信息，寄出后麻烦在 {{ deadline }} "
        "前补充快递公司和单号哦，超时售后单会自动关闭。",
        "Hello {{ buyer.name }}, we have not seen the tracking number for {{ ticket.number }} yet. Please add the "
        "carrier and tracking number by {{ deadline }}, or the request closes by itself.",
    ),
    "请补充照片凭证": (
        "照片 图片 凭证 质量 破损 photo evidence",
        None,
        "亲，{{ buyer.name }}您好，为了尽快帮您处理，麻烦在售后单 {{ ticket.number }} 里上传 2-3 张商品问题的照片"
        "（整体和细节各一张），谢谢配合！",
        "Hello {{ buyer.name }}, to help you quickly, please upload 2–3 photos of the problem (one of the whole item, "
        "one close-up) to request {{ ticket.number }}. Thank you!",
    ),
    "退款已提交": (
        "退款 到账 原路 refund",
        None,
        "亲，{{ buyer.name }}您好，订单 {{ order.number }} 的退款 {{ amount }} 已提交，将原路退回，一般 1-3 个工作日"
        "到账，请留意查收。",
        "Hello {{ buyer.name }}, the refund of {{ amount }} for order {{ order.number }} has been submitted to your "
        "original payment method; it usually arrives within 1–3 working days.",
    ),
    "致歉安抚": (
        "抱歉 道歉 安抚 不满意 sorry",
        "operations",
        "非常抱歉给您带来不好的购物体验，{{ buyer.name }}，您的问题我们已经记录并加急处理，{{ deadline }} 前一定给您"
        "答复。",
        "We are very sorry for the trouble, {{ buyer.name }}. Your request is on our priority list and you will "
        "hear from us by {{ deadline }}.",
    ),
    "仓库已签收": (
        "签收 收到 仓库 received",
        "warehouse",
        "亲，{{ buyer.name }}您好，您寄回的商品（订单 {{ order.number }}）仓库已签收，正在检查，检查通过后将为您退款"
        " {{ amount }}。",
        "Hello {{ buyer.name }}, the warehouse has received your return for order {{ order.number }} and is checking "
        "it; after the check we refund {{ amount }}.",
    ),
    "超过退货期限": (
        "超期 七天 拒绝 期限 expired",
        None,
        "亲，{{ buyer.name }}您好，很抱歉，订单 {{ order.number }} 已超过七天无理由退货期限，本次申请无法同意。"
        "如商品有质量问题，请上传照片后重新申请。",
        "Hello {{ buyer.name }}, sorry: order {{ order.number }} is past its 7-day no-reason return window, so we "
        "cannot approve this request. If the item is faulty, please apply again with photos.",
    ),
}

# title → fields (reply by title)
MACROS: dict[str, dict[str, Any]] = {
    "同意退货 · 发退货地址 · 请买家填单号": {
        "reply": "退货地址（同意退货）",
        "note": "已发退货地址，等待买家寄回并填写物流单号。",
        "kind": "return",
        "action": "approve",
        "inputs": {"reason": "同意退货，已发送退货地址"},
    },
    "同意换货 · 发退货地址": {
        "reply": "退货地址（同意退货）",
        "note": "换货已同意，已发送退货地址。",
        "kind": "exchange",
        "action": "approve",
        "inputs": {"reason": "同意换货，已发送退货地址"},
    },
    "拒绝：超过退货期限": {
        "reply": "超过退货期限",
        "kind": "return",
        "action": "reject",
        "inputs": {"reason": "已超过七天无理由退货期限"},
    },
    "请补充照片 · 提高优先级": {
        "reply": "请补充照片凭证",
        "note": "已请买家补充照片，收到后优先处理。",
        "priority": Priority.HIGH,
    },
    "仓库签收 · 检验通过": {
        "reply": "退款已提交",
        "department": "warehouse",
        "kind": "return",
        "action": "pass_inspection",
    },
}


def replies_seed(demo: Demo | None = None) -> None:
    """The return addresses of the demo shops, the replies and the macros (idempotent)."""
    shops = demo.shops.values() if demo is not None else []
    for shop in shops:
        if shop.code in RETURN_ADDRESSES and not shop.return_address:
            shop.return_address = RETURN_ADDRESSES[shop.code]
            shop.save(update_fields=["return_address"])
    departments = {d.code: d for d in Department.objects.all()}
    made: dict[str, CannedReply] = {}
    for title, (keywords, department, zh, en) in REPLIES.items():
        reply, created = CannedReply.objects.get_or_create(
            title=title, shop=None, defaults={"keywords": keywords, "department": departments.get(department or "")}
        )
        if created:
            CannedReplyText.objects.bulk_create(
                [
                    CannedReplyText(reply=reply, language="zh-hans", body=zh),
                    CannedReplyText(reply=reply, language="en", body=en),
                ]
            )
        made[title] = reply
    for title, fields in MACROS.items():
        values = dict(fields)
        values["reply"] = made[values["reply"]]
        values["department"] = departments.get(values.pop("department", ""))
        Macro.objects.get_or_create(title=title, shop=None, defaults=values)
