"""The demo's marketplaces: a Taobao and a Pinduoduo simulator where buyers keep opening after-sales cases.

    python -m tests.simulators.demo [--every 20] [--port 8000] [--seed N]

``make run`` starts it (Procfile.dev, ``marketplaces``). It serves the two simulators on 127.0.0.1 at the ports
``desk.demo.marketplaces`` gives for the web server's ``--port`` (default ``KEFU_DEMO_PORT``/``PORT``/8000),
with the demo shops' credentials, so the connections ``seed_demo`` made talk to them. Every ``--every`` seconds
(with ±50 % jitter) a buyer opens a case on one of the two (refund only or return, the merchant's deadline
between 4 and 72 hours ahead; one in six due in a few minutes, so the platform's auto-agree shows up); now and
then a buyer ships a return the merchant agreed to, or cancels; and each tick the platforms act where a deadline
passed. Every change is pushed to kefu's push URL as the platforms' bridges post them (``--no-push``: kefu's
periodic pull alone brings them); a push kefu does not answer (it is still starting) is left to the pull.

Cases are generated from the fixtures, with ids unique across restarts (seconds since the epoch in them), so a
restarted demo never reuses an id kefu has seen. The simulators keep their cases in memory only.
"""

from __future__ import annotations

import argparse
import logging
import random
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from types import FrameType

from desk.demo import marketplaces as mp
from tests.simulators.pdd import PddSimulator, pdd_running
from tests.simulators.taobao import BEIJING, TaobaoSimulator, taobao_running

logger = logging.getLogger("kefu.demo.marketplaces")

# (fixture, refund reason, what the buyer bought): varied a little so the desk does not show one case over and over.
REASONS = ("七天无理由退换货", "质量问题", "尺码拍错/不喜欢/效果不好", "少件/漏发", "商品破损", "描述不符")
ITEMS = (
    ("TEE-WHT-M", "纯棉圆领T恤 白色 M", "79.00"),
    ("MUG-BLUE", "陶瓷马克杯 湖蓝", "39.90"),
    ("KETTLE-17", "不锈钢电热水壶 1.7L", "159.00"),
    ("PILLOW-MF", "记忆棉护颈枕", "129.00"),
    ("SHOE-RUN-42", "轻量跑步鞋 42码", "399.00"),
    ("TOWEL-SET3", "长绒棉毛巾三件套", "59.00"),
)
BUYERS = ("t**3", "l**n", "小**", "王**", "a**9", "陈**")
DEADLINE_HOURS = (4, 8, 12, 24, 48, 72)  # kefu answers 2 h before (KEFU_PLATFORM_DEADLINE_MARGIN_MINUTES)
SHORT_DEADLINE_HOURS = 0.08  # about five minutes: the platform agrees for the merchant while you watch


class Marketplaces:
    """The two simulators and the buyers' behaviour; ``tick`` is one step of the demo."""

    def __init__(self, taobao: TaobaoSimulator, pdd: PddSimulator, *, rng: random.Random, push_to: str | None) -> None:
        self.taobao, self.pdd, self.rng, self.push_to = taobao, pdd, rng, push_to
        self.epoch = int(time.time())  # in every id: unique across restarts
        self.made = 0

    # -- buyers ---------------------------------------------------------------------------------------------
    def deadline(self) -> float:
        return SHORT_DEADLINE_HOURS if self.rng.random() < 1 / 6 else self.rng.choice(DEADLINE_HOURS)

    def new_taobao_case(self) -> str:
        sku, title, price = self.rng.choice(ITEMS)
        n = self.made
        buyer = self.rng.randrange(len(BUYERS))
        refund = self.taobao.create(
            self.rng.choice(("refund_only", "return_refund")),
            deadline_hours=self.deadline(),
            refund_id=f"{self.epoch}{n:04d}",
            tid=f"{self.epoch}{n:04d}1",
            oid=f"{self.epoch}{n:04d}2",
            reason=self.rng.choice(REASONS),
            title=title,
            outer_id=sku,
            refund_fee=price,
            total_fee=price,
            payment=price,
            buyer_nick=BUYERS[buyer],
            buyer_open_uid=f"AAdemo{buyer:04d}",
        )
        self.push_taobao(refund["refund_id"], "RefundCreated")
        return str(refund["refund_id"])

    def new_pdd_case(self) -> str:
        n = self.made
        fen = int(float(self.rng.choice(ITEMS)[2]) * 100)
        case = self.pdd.create(
            self.rng.choice(("refund_only", "return_refund")),
            deadline_hours=self.deadline(),
            id=self.epoch * 10_000 + n,
            order_sn=f"{datetime.now(BEIJING):%y%m%d}-{self.epoch}{n:05d}",
            after_sales_reason=self.rng.choice(REASONS),
            refund_amount=fen,
            order_amount=fen,
            goods_price=fen,
        )
        self.push_pdd(str(case["id"]), "RefundCreated")
        return str(case["id"])

    def buyers_act(self) -> None:
        """Now and then a buyer ships a return the merchant (or the platform) agreed to, or withdraws a request."""
        waiting = [r for r, case in self.taobao.refunds.items() if case["status"] == "WAIT_BUYER_RETURN_GOODS"]
        if waiting and self.rng.random() < 0.5:
            refund_id = self.rng.choice(waiting)
            self.taobao.buyer_returns(refund_id, sid=f"ZTDEMO{self.rng.randrange(10**8):08d}")
            self.push_taobao(refund_id, "RefundBuyerReturnGoods")
        waiting = [key for key, case in self.pdd.cases.items() if case["after_sales_status"] == 7]
        if waiting and self.rng.random() < 0.5:
            key = self.rng.choice(waiting)
            self.pdd.buyer_returns(key, waybill=f"YTDEMO{self.rng.randrange(10**8):08d}")
            self.push_pdd(key, "RefundReturnGoods")
        asking = [r for r, case in self.taobao.refunds.items() if case["status"] == "WAIT_SELLER_AGREE"]
        if asking and self.rng.random() < 0.05:
            refund_id = self.rng.choice(asking)
            self.taobao.buyer_cancels(refund_id)
            self.push_taobao(refund_id, "RefundClosed")

    def platforms_act(self) -> None:
        """The platforms agree where the merchant's deadline passed (their clocks run with the real one)."""
        for refund_id in self.taobao.advance(timedelta(0)):
            self.push_taobao(refund_id, "RefundAgree")
        for key in self.pdd.advance(timedelta(0)):
            self.push_pdd(key, "RefundAgree")

    def tick(self) -> None:
        self.made += 1
        (self.new_taobao_case if self.made % 2 else self.new_pdd_case)()
        self.buyers_act()
        self.platforms_act()

    # -- pushes ---------------------------------------------------------------------------------------------
    def push_taobao(self, refund_id: str, topic: str) -> None:
        if self.push_to:
            self._push("taobao", lambda url: self.taobao.push(url, self.taobao.message(refund_id, topic)))

    def push_pdd(self, after_sales_id: str, kind: str) -> None:
        if self.push_to:
            self._push("pdd", lambda url: self.pdd.push(url, self.pdd.frame(after_sales_id, kind)))

    def _push(self, platform: str, send: Callable[[str], tuple[int, bytes]]) -> None:
        url = f"{self.push_to}/connectors/{platform}/push/"
        try:
            status, body = send(url)
        except OSError as exc:  # kefu is not up (yet): the pull brings the case
            logger.info("push to %s failed (%s); the pull will bring it", url, exc)
            return
        if status != 200:
            logger.warning("push to %s answered %s: %s", url, status, body[:200])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=mp.web_port(), help="kefu's web port (default: $KEFU_DEMO_PORT)")
    parser.add_argument("--every", type=float, default=20.0, help="seconds between new cases (default 20)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: a new one each run)")
    parser.add_argument("--no-push", action="store_true", help="do not push to kefu: the pull brings the cases")
    parser.add_argument("--ticks", type=int, default=0, help="stop after this many new cases (default: never)")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    stop = threading.Event()

    def terminate(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    taobao_behaviour = {
        "app_key": mp.TAOBAO_APP_KEY,
        "secret": mp.TAOBAO_APP_SECRET,
        "session": mp.TAOBAO_SESSION,
        "seller_nick": mp.TAOBAO_NICK,
        "address_ids": {mp.TAOBAO_ADDRESS_ID},
    }
    pdd_behaviour = {
        "client_id": mp.PDD_CLIENT_ID,
        "secret": mp.PDD_CLIENT_SECRET,
        "access_token": mp.PDD_ACCESS_TOKEN,
        "mall_id": mp.PDD_MALL_ID,
    }
    with (
        taobao_running(port=options.port + mp.TAOBAO_OFFSET, **taobao_behaviour) as taobao,
        pdd_running(port=options.port + mp.PDD_OFFSET, **pdd_behaviour) as pdd,
    ):
        push_to = None if options.no_push else f"http://127.0.0.1:{options.port}"
        demo = Marketplaces(taobao, pdd, rng=random.Random(options.seed), push_to=push_to)  # noqa: S311 - not secret
        logger.info(
            "Taobao simulator at %s, Pinduoduo simulator at %s; a new case every ~%ss",
            taobao.url,
            pdd.url,
            options.every,
        )
        while not stop.is_set():
            demo.tick()
            logger.info("%s cases made (Taobao %s, Pinduoduo %s)", demo.made, len(taobao.refunds), len(pdd.cases))
            if options.ticks and demo.made >= options.ticks:
                stop.wait()  # keep serving: kefu still reads the cases
                break
            stop.wait(options.every * demo.rng.uniform(0.5, 1.5))


if __name__ == "__main__":
    main()
