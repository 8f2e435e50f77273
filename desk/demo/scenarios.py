"""The demo's orders and tickets, every kind in various states, made through the services the API and admin use
(never by setting a state), so their timelines replay to their states like real ones."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from desk.demo.setup import CATALOG, SHOPS
from notifications.models import ShopChannels
from orders.models import Order, OrderStatus, Shipment, ShipmentStatus, Shop
from orders.services import order_upsert
from orders.shipments import shipment_record_event
from orders.types import BuyerData, LineData, OrderData, ShipmentData
from tickets import services as svc
from tickets.actors import Actor
from tickets.models import (
    ComplaintCategory,
    ExceptionType,
    PayoutChannel,
    Refund,
    Severity,
    Ticket,
)
from tickets.services.payouts import refunds_payout_record, refunds_to_pay
from tickets.types import LineRequest


class Demo:
    """Builds the demo data set; one instance per run, inside one transaction."""

    def __init__(self, *, users: dict[str, User]) -> None:
        self.now = timezone.now()
        self.users = users
        self.staff = {name: Actor.staff(user) for name, user in users.items()}
        self.shops: dict[str, Shop] = {}
        self.prefix: dict[str, str] = {}
        self._sequence = Counter[str]()
        self._tracking = 0

    # -- orders ---------------------------------------------------------------------------------------

    def shops_create(self) -> None:
        for code, name, channel, prefix in SHOPS:
            self.shops[code] = Shop.objects.create(code=code, name=name, channel=channel)
            self.prefix[code] = prefix
        # The own shop tells its buyers by SMS (the console provider prints them on the worker's console);
        # the platform shops have no storefront webhook in the demo, so their buyers are not notified.
        ShopChannels.objects.create(shop=self.shops["demo-own"], webhook=False, sms=True)

    def tracking_number(self, carrier: str) -> str:
        self._tracking += 1
        return f"{carrier}DEMO{self._tracking:08d}"

    def order(
        self,
        shop: str,
        buyer: tuple[str, str],
        lines: Sequence[tuple[str, int] | tuple[str, int, str]],
        *,
        delivered_days_ago: float | None = 2,
        last_scan_days_ago: float = 4,
        carrier: str = "SF",
    ) -> Order:
        """A paid order, shipped and (unless ``delivered_days_ago`` is None) delivered per its carrier scans.

        ``lines`` are (sku, quantity[, paid amount]); without a paid amount the buyer paid the full price.
        An undelivered parcel's last scan is ``last_scan_days_ago`` days old (a stalled or lost parcel).
        """
        self._sequence[shop] += 1
        number = f"{self.prefix[shop]}{self.now:%Y%m%d}{self._sequence[shop]:04d}"
        shipped_at = self.now - timedelta(days=(delivered_days_ago or last_scan_days_ago) + 2)
        tracking = self.tracking_number(carrier)
        result = order_upsert(
            shop=self.shops[shop],
            data=OrderData(
                number=number,
                status=OrderStatus.SHIPPED,
                paid_at=shipped_at - timedelta(hours=5),
                buyer=BuyerData(external_id=buyer[0], name=buyer[1], phone=_phone(buyer[0])),
                lines=[_line(*spec) for spec in lines],
                shipments=[
                    ShipmentData(
                        carrier=carrier,
                        tracking_number=tracking,
                        status=ShipmentStatus.IN_TRANSIT,
                        shipped_at=shipped_at,
                    )
                ],
            ),
        )
        shipment = result.order.shipments.get()
        self.scan(shipment, "pickup", shipped_at, ShipmentStatus.IN_TRANSIT, "杭州", "快递员已揽收")
        if delivered_days_ago is None:
            last = self.now - timedelta(days=last_scan_days_ago)
            self.scan(shipment, "hub", last, ShipmentStatus.IN_TRANSIT, "武汉转运中心", "已到达转运中心")
        else:
            at = self.now - timedelta(days=delivered_days_ago)
            self.scan(shipment, "delivered", at, ShipmentStatus.DELIVERED, "收件地址", "已签收，本人签收")
        result.order.refresh_from_db()
        return result.order

    def scan(self, shipment: Shipment, event: str, at: datetime, status: str, location: str, text: str) -> None:
        shipment_record_event(
            shipment=shipment,
            event_id=f"{shipment.tracking_number}-{event}",
            occurred_at=at,
            status=status,
            location=location,
            description=text,
        )

    # -- actors ---------------------------------------------------------------------------------------

    def ship_back(self, ticket: Any, order: Order, carrier: str, tracking_prefix: str) -> Any:
        """The buyer sends the goods back with a new tracking number of ``carrier``."""
        return svc.ticket_act(
            ticket=ticket,
            actor=self.buyer(order),
            action="ship_back",
            carrier=carrier,
            tracking_number=self.tracking_number(tracking_prefix),
        )

    def buyer(self, order: Order) -> Actor:
        return Actor.for_buyer(order.buyer)

    # -- refunds --------------------------------------------------------------------------------------

    def pay_refunds(self, ticket: Ticket, *, recorded: bool = True) -> None:
        """Submit the ticket's reserved refunds now, as the worker would (``refund_execute`` is idempotent), and,
        unless ``recorded`` is false (then they wait in the finance queue), record their manual payout as fin1."""
        refunds = list(Refund.objects.filter(ticket_id=ticket.pk).order_by("pk"))
        for refund in refunds:
            svc.refund_execute(refund_id=refund.pk)
        to_record = [refund.pk for refund in refunds_to_pay().filter(ticket_id=ticket.pk)]
        if recorded and to_record:
            refunds_payout_record(
                refund_ids=to_record,
                channel=PayoutChannel.ALIPAY_ACCOUNT,
                reference=f"2026{ticket.pk:012d}",
                paid_at=timezone.now(),
                actor=self.staff["fin1"],
            )

    # -- the data set ---------------------------------------------------------------------------------

    def build(self) -> None:
        self.shops_create()
        self.returns()
        self.exchanges()
        self.complaints()
        self.logistics()

    def returns(self) -> None:
        ops, wh = self.staff["ops1"], self.staff["wh1"]
        lin, zhang = ("tb_lin_xiaomei", "林小美"), ("tb_zhang_wei", "张伟")
        wang, li = ("jd_wang_fang", "王芳"), ("jd_li_na", "李娜")
        chen, zhao = ("own_chen_jie", "陈杰"), ("own_zhao_lei", "赵磊")

        # requested: waiting for operations to review (auto-approved after 48 h).
        order = self.order("demo-taobao", lin, [("TEE-WHT-M", 2, "150.00"), ("MUG-BLUE", 1)], delivered_days_ago=1)
        ticket = open_return(order, self.buyer(order), "TEE-WHT-M", 1, "seven_days_no_reason", "不喜欢这个版型。")
        svc.ticket_comment_add(ticket=ticket, actor=self.buyer(order), body="吊牌还在，未下水。")

        # awaiting_return: approved, the buyer must send the shoes back.
        order = self.order("demo-taobao", zhang, [("SHOE-RUN-42", 1)], delivered_days_ago=3)
        ticket = open_return(order, self.buyer(order), "SHOE-RUN-42", 1, "quality_problem", "鞋底开胶。")
        svc.ticket_act(ticket=ticket, actor=ops, action="approve", reason="同意退货，请寄回。")

        # return_in_transit: the buyer gave the carrier and tracking number.
        order = self.order("demo-taobao", lin, [("KETTLE-17", 1)], delivered_days_ago=2)
        ticket = open_return(order, self.buyer(order), "KETTLE-17", 1, "quality_problem", "烧水有异味。")
        ticket = svc.ticket_act(ticket=ticket, actor=ops, action="approve")
        self.ship_back(ticket, order, "YTO", "YT")

        # received (earbuds) and refunded (refund only: one towel set missing) on the same order.
        order = self.order("demo-jd", wang, [("EARBUDS-BT", 1), ("TOWEL-SET3", 2)], delivered_days_ago=2, carrier="JD")
        ticket = open_return(order, self.buyer(order), "EARBUDS-BT", 1, "quality_problem", "左耳没有声音。")
        ticket = svc.ticket_act(ticket=ticket, actor=ops, action="approve")
        ticket = self.ship_back(ticket, order, "JD", "JDV")
        ticket = svc.ticket_act(ticket=ticket, actor=wh, action="receive")
        refund = svc.return_open(
            order=order,
            actor=self.buyer(order),
            lines=[LineRequest(sku="TOWEL-SET3", quantity=1)],
            reason_code="missing_or_wrong_item",
            refund_only=True,
            description="少发了一套毛巾。",
        )
        refund = svc.ticket_act(ticket=refund, actor=ops, action="approve", reason="核实少发，仅退款。")
        self.pay_refunds(refund)

        # refund_pending: inspection passed partly; the refund waits in the finance queue (fin1 records it).
        order = self.order("demo-jd", li, [("LAMP-LED", 1)], delivered_days_ago=4, carrier="JD")
        ticket = open_return(order, self.buyer(order), "LAMP-LED", 1, "seven_days_no_reason", "")
        ticket = svc.ticket_act(ticket=ticket, actor=ops, action="approve")
        ticket = self.ship_back(ticket, order, "JD", "JDV")
        ticket = svc.ticket_act(ticket=ticket, actor=wh, action="receive")
        ticket = svc.ticket_act(
            ticket=ticket,
            actor=wh,
            action="pass_inspection_partly",
            amount=Decimal("150.00"),
            reason="底座有划痕，扣除 ¥39.00。",
        )
        self.pay_refunds(ticket, recorded=False)

        # rejected, then arbitration (rejected and escalated by the buyer), then cancelled.
        order = self.order("demo-own", chen, [("PILLOW-MF", 2)], delivered_days_ago=3)
        ticket = open_return(order, self.buyer(order), "PILLOW-MF", 1, "seven_days_no_reason", "太高了。")
        svc.ticket_act(ticket=ticket, actor=ops, action="reject", reason="贴身用品已拆封使用，不支持七天无理由退货。")
        order = self.order("demo-own", zhao, [("SHOE-RUN-43", 1), ("MUG-BLUE", 2)], delivered_days_ago=2)
        ticket = open_return(order, self.buyer(order), "SHOE-RUN-43", 1, "not_as_described", "颜色和图片差别很大。")
        ticket = svc.ticket_act(ticket=ticket, actor=ops, action="reject", reason="色差在允许范围内。")
        svc.ticket_act(ticket=ticket, actor=self.buyer(order), action="escalate", reason="我有照片为证，申请平台介入。")
        ticket = open_return(order, self.buyer(order), "MUG-BLUE", 1, "seven_days_no_reason", "")
        svc.ticket_act(ticket=ticket, actor=self.buyer(order), action="cancel", reason="买错了，又想要了。")

    def exchanges(self) -> None:
        ops, wh = self.staff["ops1"], self.staff["wh1"]
        zhang, wang, chen, li = (
            ("tb_zhang_wei", "张伟"),
            ("jd_wang_fang", "王芳"),
            ("own_chen_jie", "陈杰"),
            ("jd_li_na", "李娜"),
        )
        # requested and awaiting_return.
        order = self.order("demo-taobao", zhang, [("TEE-WHT-L", 2)], delivered_days_ago=1)
        open_exchange(order, self.buyer(order), "TEE-WHT-L", 1, "TEE-WHT-M", "大了一码。")
        ticket = open_exchange(order, self.buyer(order), "TEE-WHT-L", 1, "TEE-WHT-M", "两件都大了。")
        svc.ticket_act(ticket=ticket, actor=ops, action="approve")

        # replacement_pending and replacement_shipped.
        order = self.order("demo-own", chen, [("SHOE-RUN-42", 2)], delivered_days_ago=3)
        for ships in (False, True):
            ticket = open_exchange(order, self.buyer(order), "SHOE-RUN-42", 1, "SHOE-RUN-43", "偏小，换大一码。")
            ticket = self.exchange_received(ticket, order, ops, wh)
            if ships:
                svc.ticket_act(
                    ticket=ticket,
                    actor=wh,
                    action="ship_replacement",
                    carrier="SF",
                    tracking_number=self.tracking_number("SF"),
                )

        # Out of stock: the exchange is closed and converted into a linked refund, paid at once.
        order = self.order("demo-jd", li, [("TEE-WHT-M", 1)], delivered_days_ago=2, carrier="JD")
        ticket = open_exchange(order, self.buyer(order), "TEE-WHT-M", 1, "TEE-WHT-L", "想换大一码。")
        ticket = self.exchange_received(ticket, order, ops, wh)
        svc.ticket_act(ticket=ticket, actor=wh, action="convert_to_refund", reason="L 码缺货，转为退款。")
        self.pay_refunds(Ticket.objects.get(origin=ticket))

        # rejected: the buyer may modify the request, escalate it or accept.
        order = self.order("demo-jd", wang, [("RICE-COOKER", 1)], delivered_days_ago=4, carrier="JD")
        ticket = open_exchange(order, self.buyer(order), "RICE-COOKER", 1, "RICE-COOKER", "内胆有划痕，换新。")
        svc.ticket_act(ticket=ticket, actor=ops, action="reject", reason="请先上传内胆划痕的照片。")

    def exchange_received(self, ticket: Any, order: Order, ops: Actor, wh: Actor) -> Any:
        """approve → ship_back → receive → pass_inspection: the exchange waits for its replacement."""
        ticket = svc.ticket_act(ticket=ticket, actor=ops, action="approve")
        ticket = self.ship_back(ticket, order, "SF", "SF")
        ticket = svc.ticket_act(ticket=ticket, actor=wh, action="receive")
        return svc.ticket_act(ticket=ticket, actor=wh, action="pass_inspection")

    def complaints(self) -> None:
        ops = self.staff["ops1"]
        order = self.order("demo-taobao", ("tb_wu_min", "吴敏"), [("MUG-BLUE", 4)], delivered_days_ago=1)
        svc.complaint_open(
            order=order,
            actor=self.buyer(order),
            category=ComplaintCategory.SERVICE_ATTITUDE,
            severity=Severity.HIGH,
            description="客服两天没有回复我的消息。",
        )
        ticket = svc.complaint_open(
            order=order,
            actor=self.buyer(order),
            category=ComplaintCategory.PRODUCT_QUALITY,
            description="杯子外壁有气泡。",
            lines=[LineRequest(sku="MUG-BLUE", quantity=2)],
            reason_code="quality_problem",
        )
        ticket = svc.ticket_act(ticket=ticket, actor=ops, action="acknowledge")
        ticket = svc.ticket_act(ticket=ticket, actor=ops, action="investigate")
        svc.ticket_comment_add(ticket=ticket, actor=ops, body="已联系工厂核查这一批次。", public=False)

        order = self.order("demo-own", ("own_sun_li", "孙丽"), [("RICE-COOKER", 1)], delivered_days_ago=2)
        ticket = svc.complaint_open(
            order=order,
            actor=self.buyer(order),
            category=ComplaintCategory.DELIVERY,
            severity=Severity.LOW,
            description="快递员没有送货上门。",
        )
        ticket = svc.ticket_act(ticket=ticket, actor=ops, action="acknowledge")
        ticket = svc.ticket_act(ticket=ticket, actor=ops, action="investigate")
        svc.ticket_act(
            ticket=ticket,
            actor=ops,
            action="propose_resolution",
            resolution="已向快递公司投诉，并补偿 10 元无门槛优惠券。",
        )

    def logistics(self) -> None:
        lg, ops = self.staff["lg1"], self.staff["ops1"]
        # reported: the parcel has not moved for three days (delayed).
        order = self.order(
            "demo-taobao", ("tb_he_jing", "何静"), [("PILLOW-MF", 1)], delivered_days_ago=None, last_scan_days_ago=3
        )
        svc.logistics_open(
            order=order,
            actor=self.buyer(order),
            exception_type=ExceptionType.DELAYED,
            shipment=order.shipments.get(),
            description="三天没有物流更新了。",
        )
        # investigating: lost, a carrier claim is open.
        order = self.order(
            "demo-jd", ("jd_zhou_qiang", "周强"), [("EARBUDS-BT", 1)], delivered_days_ago=None, carrier="JD"
        )
        ticket = svc.logistics_open(
            order=order, actor=ops, exception_type=ExceptionType.LOST, shipment=order.shipments.get()
        )
        ticket = svc.ticket_act(ticket=ticket, actor=lg, action="investigate", carrier_claim_number="JD-CLAIM-0001")
        # compensating: delivered damaged, the buyer keeps it and gets compensation.
        order = self.order("demo-own", ("own_zheng_hao", "郑浩"), [("KETTLE-17", 1)], delivered_days_ago=1)
        ticket = svc.logistics_open(
            order=order,
            actor=self.buyer(order),
            exception_type=ExceptionType.DAMAGED,
            shipment=order.shipments.get(),
            description="外箱压坏，壶身有凹痕。",
        )
        ticket = svc.ticket_act(ticket=ticket, actor=lg, action="investigate", carrier_claim_number="SF-CLAIM-0002")
        svc.ticket_act(
            ticket=ticket, actor=lg, action="compensate", amount=Decimal("30.00"), reason="买家同意补偿，不退货。"
        )
        # refunding: lost for good; a linked refund-only return pays the buyer (the worker pays it).
        order = self.order(
            "demo-own", ("own_zhao_lei", "赵磊"), [("LAMP-LED", 1)], delivered_days_ago=None, last_scan_days_ago=8
        )
        ticket = svc.logistics_open(
            order=order, actor=ops, exception_type=ExceptionType.LOST, shipment=order.shipments.get()
        )
        ticket = svc.ticket_act(ticket=ticket, actor=lg, action="investigate", carrier_claim_number="SF-CLAIM-0003")
        svc.ticket_act(ticket=ticket, actor=lg, action="refund", reason="快递确认丢件，先行退款。")


def open_return(order: Order, actor: Actor, sku: str, quantity: int, reason: str, text: str) -> Any:
    return svc.return_open(
        order=order,
        actor=actor,
        lines=[LineRequest(sku=sku, quantity=quantity)],
        reason_code=reason,
        description=text,
    )


def open_exchange(order: Order, actor: Actor, sku: str, quantity: int, replacement: str, text: str) -> Any:
    return svc.exchange_open(
        order=order,
        actor=actor,
        lines=[LineRequest(sku=sku, quantity=quantity)],
        reason_code="wrong_size_colour",
        replacement_sku=replacement,
        replacement_name=CATALOG[replacement].name,
        description=text,
    )


def _line(sku: str, quantity: int, paid: str | None = None) -> LineData:
    item = CATALOG[sku]
    price = Decimal(item.price)
    return LineData(
        sku=sku,
        name=item.name,
        quantity=quantity,
        unit_price=price,
        paid_amount=Decimal(paid) if paid else price * quantity,
    )


def _phone(external_id: str) -> str:
    return f"139{sum(map(ord, external_id)) % 10**8:08d}"


# -- logins -----------------------------------------------------------------------------------------------
