"""The demo's risk cases, so a newcomer sees flags at once: a serial returner who threatens a bad review on the
Taobao shop, the same photo sent as evidence by two buyers of the JD shop, and a fast-refund rule (switched off)
on the own shop whose page shows its backtest.

Made through the ticket services like the rest of the demo; the profiles and fingerprints are then computed by
the risk services right away (in production the tasks after each commit do it).
"""

from __future__ import annotations

import io
import random
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw, ImageFilter

from risk.models import FastRefundRule
from risk.services.evidence import evidence_fingerprint
from risk.services.profiles import buyer_profile_refresh
from tickets import services as svc
from tickets.models import Attachment, Ticket
from tickets.types import LineRequest

if TYPE_CHECKING:
    from desk.demo.scenarios import Demo


def demo_photo(seed: int, size: tuple[int, int] = (640, 480), quality: int = 88) -> bytes:
    """A made-up "photo of the damage" as JPEG bytes (shapes on a gradient: a perceptual hash with structure)."""
    rng = random.Random(seed)  # noqa: S311 -- a reproducible picture, not a secret
    image = Image.new("RGB", (640, 480))
    draw = ImageDraw.Draw(image)
    base = [rng.randrange(256) for _ in range(3)]
    for y in range(480):
        draw.line([(0, y), (640, y)], fill=tuple(int(c * (0.4 + 0.6 * y / 480)) for c in base))
    for _ in range(12):
        x0, y0 = rng.randrange(640), rng.randrange(480)
        box = [x0, y0, x0 + rng.randrange(40, 260), y0 + rng.randrange(40, 200)]
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(1.5)).resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def risk_cases(demo: Demo) -> None:
    serial_returner(demo)
    reused_photo(demo)
    FastRefundRule.objects.create(
        shop=demo.shops["demo-own"], name="小额仅退款 ¥50 以下", max_amount=Decimal("50.00"), refund_only=True
    )


def serial_returner(demo: Demo) -> None:
    """周退退 returned five things in a month on the Taobao shop, three of them refund only, and threatened a bad
    review: flagged serial returner, refund-only abuse and threat of a bad review."""
    zhou = ("tb_zhou_tuitui", "周退退")
    tickets: list[Ticket] = []
    for sku, refund_only, text in [
        ("TEE-WHT-M", False, "不合身。"),
        ("MUG-BLUE", True, "杯子收到就是碎的。"),
        ("TOWEL-SET3", True, "少了一条毛巾。"),
        ("LAMP-LED", True, "灯不亮，也不想寄回了。"),
        ("KETTLE-17", False, "不想要了，赶紧退款，不然给差评！"),
    ]:
        order = demo.order("demo-taobao", zhou, [(sku, 1)], delivered_days_ago=1)
        ticket = svc.return_open(
            order=order,
            actor=demo.buyer(order),
            lines=[LineRequest(sku=sku, quantity=1)],
            reason_code="quality_problem" if refund_only else "seven_days_no_reason",
            refund_only=refund_only,
            description=text,
        )
        tickets.append(ticket)
    svc.ticket_comment_add(ticket=tickets[-1], actor=demo.buyer(tickets[-1].order), body="今天不处理我就去写差评。")
    buyer_profile_refresh(buyer_id=tickets[0].buyer_id)


def reused_photo(demo: Demo) -> None:
    """Two JD buyers send the same photo of a cracked kettle (the second a smaller, re-compressed copy)."""
    first = demo.order("demo-jd", ("jd_sun_li", "孙丽"), [("KETTLE-17", 1)], delivered_days_ago=2, carrier="JD")
    second = demo.order("demo-jd", ("jd_qian_hao", "钱浩"), [("KETTLE-17", 1)], delivered_days_ago=1, carrier="JD")
    photos = [demo_photo(7), demo_photo(7, size=(400, 300), quality=60)]
    for order, photo in zip((first, second), photos, strict=True):
        ticket = svc.return_open(
            order=order,
            actor=demo.buyer(order),
            lines=[LineRequest(sku="KETTLE-17", quantity=1)],
            reason_code="quality_problem",
            refund_only=True,
            description="壶身有裂缝，见照片。",
        )
        attachment: Attachment = svc.ticket_evidence_attach(
            ticket=ticket,
            actor=demo.buyer(order),
            file=ContentFile(photo, name="crack.jpg"),
            original_name="裂缝.jpg",
            content_type="image/jpeg",
        )
        evidence_fingerprint(attachment_id=attachment.pk)
        buyer_profile_refresh(buyer_id=ticket.buyer_id)
