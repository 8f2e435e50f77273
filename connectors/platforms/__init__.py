"""One module per platform, each a :class:`connectors.base.Connector`; ``connector_for`` picks it.

To add a platform: write ``connectors/platforms/<name>.py`` with a ``Connector`` subclass (its ``platform``
and ``default_base_url``), add it to ``CONNECTORS`` below, a simulator in ``tests/simulators/`` and its
contract tests in ``tests/connectors/`` (docs/platforms.md, "Adding a platform").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

from connectors.base import Connector, Platform

if TYPE_CHECKING:
    from connectors.models import ShopConnection

# Dotted paths, imported on first use: a platform's module is loaded only where a connection uses it.
CONNECTORS: dict[str, str] = {
    Platform.TAOBAO: "connectors.platforms.taobao.TaobaoConnector",
    Platform.WECHAT: "connectors.platforms.wechat.WechatConnector",
    Platform.JD: "connectors.platforms.jd.JdConnector",
    Platform.DOUYIN: "connectors.platforms.douyin.DouyinConnector",
    Platform.PDD: "connectors.platforms.pdd.PddConnector",
}


def connector_class(platform: str) -> type[Connector]:
    try:
        path = CONNECTORS[platform]
    except KeyError:
        raise LookupError(f"no connector for platform {platform!r}") from None
    cls: type[Connector] = import_string(path)
    return cls


def connector_for(connection: ShopConnection) -> Connector:
    """The connector of ``connection``'s platform, bound to it."""
    return connector_class(connection.platform)(connection)
