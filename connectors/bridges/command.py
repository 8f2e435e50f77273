"""What ``manage.py connectors_tmc`` and ``connectors_pmc`` share: pick the connections, one bridge per app key
(each in a thread of its own), run until SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection as db_connection
from django.utils.translation import gettext as _

from connectors.bridges.runner import Bridge
from connectors.models import ShopConnection


class BridgeCommand(BaseCommand):
    platform: str
    url_setting: str  # the setting naming the push service's URL

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--connection",
            type=int,
            action="append",
            dest="connections",
            help="A shop connection id (repeatable). Default: every active connection of the platform.",
        )
        parser.add_argument("--url", default="", help="The push service's WebSocket URL (default: the setting).")

    def make_bridge(self, connections: Sequence[ShopConnection], url: str, options: dict[str, Any]) -> Bridge:
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        chosen = ShopConnection.objects.filter(platform=self.platform, active=True).order_by("pk")
        if options["connections"]:
            chosen = chosen.filter(pk__in=options["connections"])
            missing = set(options["connections"]) - set(chosen.values_list("pk", flat=True))
            if missing:
                raise CommandError(
                    _("No active %(platform)s connection with id %(ids)s.")
                    % {"platform": self.platform, "ids": ", ".join(map(str, sorted(missing)))}
                )
        by_app: dict[str, list[ShopConnection]] = {}
        for connection in chosen:
            by_app.setdefault(connection.app_key, []).append(connection)
        if not by_app:
            raise CommandError(_("No active %(platform)s connection to serve.") % {"platform": self.platform})
        url = options["url"] or str(getattr(settings, self.url_setting))
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_args: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
        bridges = [self.make_bridge(group, url, options) for group in by_app.values()]
        threads = [threading.Thread(target=self._serve, args=(b, stop), name=f"bridge-{b.app_key}") for b in bridges]
        for thread in threads:
            thread.start()
        self.stdout.write(
            _("%(platform)s bridge: %(apps)d app(s), %(shops)d shop(s), %(url)s")
            % {"platform": self.platform, "apps": len(bridges), "shops": len(chosen), "url": url}
        )
        try:
            while any(thread.is_alive() for thread in threads):
                for thread in threads:
                    thread.join(0.5)
        finally:
            stop.set()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    @staticmethod
    def _serve(bridge: Bridge, stop: threading.Event) -> None:
        try:
            bridge.run(stop.is_set)
        finally:
            db_connection.close()
