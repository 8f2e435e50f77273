"""``manage.py connectors_tmc [--connection ID …] [--url ws://…] [--group NAME]``: hold Taobao's TMC for the
active Taobao connections (one connection per app key), store each refund message in the inbox, confirm it.
Runs until SIGTERM/SIGINT; reconnects by itself (docs/platforms.md, "TMC bridge")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser

from connectors.base import Platform
from connectors.bridges.command import BridgeCommand
from connectors.bridges.runner import Bridge
from connectors.bridges.tmc import TmcBridge
from connectors.models import ShopConnection


class Command(BridgeCommand):
    help = "Hold Taobao's message channel (TMC) and store its refund messages in kefu's inbox."
    platform = Platform.TAOBAO
    url_setting = "KEFU_CONNECTOR_TMC_URL"

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--group", default="", help="The TMC group (default: KEFU_CONNECTOR_TMC_GROUP).")

    def make_bridge(self, connections: Sequence[ShopConnection], url: str, options: dict[str, Any]) -> Bridge:
        return TmcBridge(connections, url=url, group_name=options["group"] or settings.KEFU_CONNECTOR_TMC_GROUP)
