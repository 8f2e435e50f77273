"""``manage.py connectors_pmc [--connection ID …] [--url wss://…]``: hold Pinduoduo's PMC for the active PDD
connections (one WebSocket per client id), store each refund message in the inbox, acknowledge it. Runs until
SIGTERM/SIGINT; reconnects by itself (docs/platforms.md, "Push bridges")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.base import Platform
from connectors.bridges.command import BridgeCommand
from connectors.bridges.pmc import PmcBridge
from connectors.bridges.runner import Bridge
from connectors.models import ShopConnection


class Command(BridgeCommand):
    help = "Hold Pinduoduo's message service (PMC) and store its refund messages in kefu's inbox."
    platform = Platform.PDD
    url_setting = "KEFU_CONNECTOR_PMC_URL"

    def make_bridge(self, connections: Sequence[ShopConnection], url: str, options: dict[str, Any]) -> Bridge:
        return PmcBridge(connections, url=url)
