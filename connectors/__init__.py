"""Marketplace connectors: after-sales cases born on Taobao/Tmall, Pinduoduo, WeChat Channels, Douyin and JD,
brought into kefu's tickets and kept in step both ways (docs/platforms.md).

``base`` holds the platform-neutral contract (snapshots, push messages, commands, the ``Connector`` interface,
``PlatformError``); ``platforms/`` one module per platform; ``models`` the shop connections, the case index,
the push inbox and the write-back outbox; ``services/`` ingestion, write-back and reconciliation. Nothing
platform-specific reaches the ticket core: it sees platform-neutral transitions run by a platform actor.
"""
