"""The demo's simulated marketplace shops: where their simulators listen and the credentials both sides use.

``make run`` starts ``python -m tests.simulators.demo`` (Procfile.dev, ``marketplaces``), which serves a Taobao
and a Pinduoduo simulator on 127.0.0.1 and makes after-sales cases there; ``seed_demo`` connects the demo shops
``demo-taobao`` and ``demo-pdd`` to them (``desk.demo.setup.marketplaces_connect``). Both read this module, so
the ports and credentials agree. Plain constants, no Django: the simulator process imports it without settings.

The simulators listen next to the web server: ``KEFU_DEMO_PORT`` (``make run`` sets it to ``PORT``, default 8000)
plus 10 (Taobao) and plus 11 (Pinduoduo). Demo credentials only: nothing here reaches a real platform.
"""

from __future__ import annotations

import os

TAOBAO_OFFSET, PDD_OFFSET = 10, 11

TAOBAO_SHOP = "demo-taobao"
TAOBAO_NICK = "糖果家居旗舰店"  # the seller nick: what TMC messages name, the connection's shop id on the platform
TAOBAO_APP_KEY = "23456789"
TAOBAO_APP_SECRET = "demo-taobao-app-secret-0123456789"  # noqa: S105 - the demo simulator's, known to both sides
TAOBAO_SESSION = "6100demo0taobao0session"
TAOBAO_ADDRESS_ID = "5001"

PDD_SHOP = "demo-pdd"
PDD_MALL_ID = "180012345"
PDD_CLIENT_ID = "demo0c0ad2da4fbf43d69a930f44dc5a"
PDD_CLIENT_SECRET = "demo-pdd-client-secret-f9ab58883b"  # noqa: S105 - the demo simulator's
PDD_ACCESS_TOKEN = "demo-pdd-access-token-6ab1c2d3"  # noqa: S105 - the demo simulator's
PDD_ADDRESS_ID = "8002"


def web_port() -> int:
    """The port the demo's web server listens on (``make run``'s PORT)."""
    return int(os.environ.get("KEFU_DEMO_PORT") or os.environ.get("PORT") or 8000)


def taobao_url(port: int) -> str:
    return f"http://127.0.0.1:{port + TAOBAO_OFFSET}/router/rest"


def pdd_url(port: int) -> str:
    return f"http://127.0.0.1:{port + PDD_OFFSET}/api/router"
